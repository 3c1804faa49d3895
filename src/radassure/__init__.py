"""radassure: keep clinical AI tools in imaging and radiotherapy safe.

The package is layered (see ``DESIGN.md``): :mod:`radassure.core` holds pure
numerics, :mod:`radassure.db` the store, :mod:`radassure.ingest` the parsers,
:mod:`radassure.services` the use cases, and :mod:`radassure.cli`,
:mod:`radassure.api` and :mod:`radassure.web` are thin fronts over them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
