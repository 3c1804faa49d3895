"""The equity report: one self-contained HTML file from an equity run's results.

The input is the JSON-ready ``results`` of an equity run (see
``radassure.services.equity``) plus a ``run`` entry with its id, time, actor
and data fingerprint. Forest plots are inline SVG; there are no scripts and no
external references. The body is the ``_equity_section.html`` partial, which
the validation report includes too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radassure.reports._equity_view import equity_context
from radassure.reports.validation import _ENV

__all__ = ["render_equity_report"]


def render_equity_report(data: Mapping[str, Any]) -> str:
    """Render an equity run's results as one self-contained HTML document.

    Parameters
    ----------
    data : mapping
        The run's ``results`` with a ``run`` entry (``id``, ``created_at``,
        ``created_by``, ``data_fingerprint``, ``radassure_version``).

    Returns
    -------
    str
        HTML with inline CSS and SVG; no scripts, no external references.

    """
    return _ENV.get_template("equity.html").render(
        d=data, run=data["run"], equity=equity_context(data)
    )
