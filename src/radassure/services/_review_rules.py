"""What makes a review valid: one set of rules for the review page and bulk imports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from radassure.db.security import REVIEW_DECISIONS, REVIEW_REASONS

__all__ = ["MAX_COMMENT", "ReviewFields", "review_problems", "summarise_localisations"]

MAX_COMMENT = 4000
#: A review open longer than a day is a forgotten tab, not reading time.
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class ReviewFields:
    """The reviewer's answer about one AI result, as given."""

    decision: str
    reason: str | None
    comment: str | None
    final_call: bool | None
    seconds_taken: float | None


def review_problems(
    f: ReviewFields, ai_call: bool | None
) -> tuple[list[tuple[str, str]], bool | None]:
    """Check a review against the AI result's call.

    Returns the problems as (field, sentence) pairs and the reporter's final
    call: as given, or implied by the answer (agreeing takes the AI's call;
    calling the AI a false positive means negative, a false negative
    positive); None when neither says.

    Examples
    --------
    >>> review_problems(ReviewFields("disagree", "ai_false_positive", None, None, 12.0), True)
    ([], False)
    >>> review_problems(ReviewFields("agree", "other", None, None, None), True)[0]
    [('reason', 'give no reason when agreeing with the AI result.')]

    """
    problems: list[tuple[str, str]] = []
    implied: bool | None = None
    if f.decision not in REVIEW_DECISIONS:
        problems.append(("decision", f"{f.decision!r} is not one of: agree, disagree."))
    elif f.decision == "agree":
        if f.reason is not None:
            problems.append(("reason", "give no reason when agreeing with the AI result."))
        implied = ai_call
    elif f.reason is None:
        problems.append(
            ("reason", f"a disagreement needs a reason, one of: {', '.join(REVIEW_REASONS)}.")
        )
    elif f.reason not in REVIEW_REASONS:
        problems.append(("reason", f"{f.reason!r} is not one of: {', '.join(REVIEW_REASONS)}."))
    elif f.reason == "ai_false_positive":
        if ai_call is False:
            problems.append(
                (
                    "reason",
                    "the AI call was negative, so it cannot be a false "
                    "positive; did you mean ai_false_negative?",
                )
            )
        implied = False
    elif f.reason == "ai_false_negative":
        if ai_call is True:
            problems.append(
                (
                    "reason",
                    "the AI call was positive, so it cannot be a false "
                    "negative; did you mean ai_false_positive?",
                )
            )
        implied = True
    elif not (f.comment or "").strip():
        problems.append(("comment", "say in a comment why you disagree when the reason is other."))
    if f.final_call is not None and implied is not None and f.final_call != implied:
        problems.append(
            (
                "final_call",
                f"the final call ({'positive' if f.final_call else 'negative'}) "
                "contradicts the decision and reason given.",
            )
        )
    if f.comment is not None and len(f.comment) > MAX_COMMENT:
        problems.append(("comment", f"is longer than {MAX_COMMENT} characters."))
    s = f.seconds_taken
    if s is not None and not (math.isfinite(s) and 0 <= s <= MAX_SECONDS):
        problems.append(("seconds_taken", f"{s!r} is not a number of seconds from 0 to 86400."))
    return problems, f.final_call if f.final_call is not None else implied


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def summarise_localisations(loc: Any) -> str:
    """Return a one-line summary of an AI result's localisations for a review list.

    Examples
    --------
    >>> summarise_localisations([{"x": 1, "y": 2, "score": 0.91, "region": "radius"},
    ...                          {"x": 5, "y": 6, "score": 0.4}])
    '2 marks, top score 0.91 (radius)'
    >>> summarise_localisations({"dice": 0.8712, "volume_ml": 20.4})
    'dice 0.871, volume_ml 20.4'
    >>> summarise_localisations(None)
    ''

    """
    if loc is None:
        return ""
    if isinstance(loc, list):
        marks = [m for m in loc if isinstance(m, dict)]
        text = f"{len(loc)} mark{'s' if len(loc) != 1 else ''}"
        scores = [m["score"] for m in marks if isinstance(m.get("score"), int | float)]
        if scores:
            text += f", top score {_number(max(scores))}"
        where = sorted(
            {
                str(m.get("region") or m.get("label"))
                for m in marks
                if m.get("region") or m.get("label")
            }
        )
        if where:
            text += f" ({', '.join(where[:3])}{', ...' if len(where) > 3 else ''})"
        return text
    if isinstance(loc, dict):
        parts = [
            f"{k} {_number(v)}"
            for k, v in list(loc.items())[:4]
            if isinstance(v, int | float | str)
        ]
        return ", ".join(parts)
    return str(loc)[:80]
