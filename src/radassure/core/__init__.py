"""Pure numerics on arrays (numpy and scipy only): metrics, intervals, tests.

Every public function here is reusable outside radassure; nothing in this
package touches files, databases or the web.
"""

from radassure.core.results import Estimate
from radassure.errors import UndefinedMetricWarning

__all__ = ["Estimate", "UndefinedMetricWarning"]
