"""One exception tree for radassure.

Every error a user can cause is a :class:`RadassureError` subclass carrying the
HTTP status the API and pages answer with, so the CLI, API and web fronts report
the same failure the same way. Messages are full sentences that name the file,
row, field or argument at fault and say how to fix it. This module imports
nothing from radassure so every layer may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "DataValidationError",
    "DatabaseError",
    "InputProblem",
    "NotFoundError",
    "PermissionDeniedError",
    "RadassureError",
    "UndefinedMetricWarning",
]


class RadassureError(Exception):
    """Base of every error radassure raises on purpose.

    Parameters
    ----------
    message : str
        A full sentence naming what is wrong and how to fix it.

    Examples
    --------
    >>> try:
    ...     raise NotFoundError("No tool named 'X' is registered.")
    ... except RadassureError as exc:
    ...     (exc.http_status, str(exc))
    (404, "No tool named 'X' is registered.")

    """

    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready description of the error."""
        return {"error": type(self).__name__, "message": self.message}


class ConfigurationError(RadassureError):
    """Settings are missing or invalid (for example no site secret)."""

    http_status = 500


class NotFoundError(RadassureError):
    """A named object (tool, version, site, study) does not exist."""

    http_status = 404


class ConflictError(RadassureError):
    """The request contradicts what is already stored."""

    http_status = 409


class PermissionDeniedError(RadassureError):
    """The user or token may not do this."""

    http_status = 403


class DatabaseError(RadassureError):
    """The database could not be reached or refused an operation."""

    http_status = 503


@dataclass(frozen=True)
class InputProblem:
    """One problem found in an input file or request.

    Attributes
    ----------
    source : str
        File name or request name.
    row : int or None
        Where in the input: for CSV files the row number a spreadsheet shows
        (the header is row 1, the first data row is row 2); for JSON requests
        the 0-based index of the record.
    column : str or None
        Column or field name.
    message : str
        What was found and what was expected.

    """

    source: str
    row: int | None
    column: str | None
    message: str
    row_label: str = "row"

    def __str__(self) -> str:
        where = [self.source]
        if self.row is not None:
            where.append(f"{self.row_label} {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class DataValidationError(RadassureError):
    """Input was rejected as a whole; nothing of it was written.

    Parameters
    ----------
    problems : list of InputProblem
        The problems found (at most a bounded number are collected).
    truncated : bool
        True when more problems existed than were collected.

    Examples
    --------
    >>> err = DataValidationError([InputProblem("a.csv", 3, "score", "'x' is not a number.")])
    >>> print(err)
    a.csv was rejected; nothing was written. 1 problem:
      a.csv, row 3, column 'score': 'x' is not a number.

    """

    http_status = 422

    def __init__(self, problems: list[InputProblem], *, truncated: bool = False) -> None:
        self.problems = list(problems)
        self.truncated = truncated
        super().__init__(self._render())

    def _render(self) -> str:
        sources = sorted({p.source for p in self.problems}) or ["input"]
        n = len(self.problems)
        head = (
            f"{', '.join(sources)} was rejected; nothing was written. "
            f"{n}{'+' if self.truncated else ''} problem{'s' if n != 1 else ''}:"
        )
        lines = [head, *(f"  {p}" for p in self.problems)]
        if self.truncated:
            lines.append("  (further problems not listed; fix these and run again)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, object]:
        """Return a JSON-ready description including each problem."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "problems": [
                {
                    "source": p.source,
                    p.row_label: p.row,
                    "column": p.column,
                    "message": p.message,
                }
                for p in self.problems
            ],
            "truncated": self.truncated,
        }


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the data given (for example no positives); NaN is returned."""
