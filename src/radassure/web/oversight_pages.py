"""The reporter's oversight page and the clinical lead's discrepancy queue.

The oversight page shows one AI result at a time and takes the decision as a
plain form post (CSRF token in a hidden field), then redirects to the next
result: it works without JavaScript. ``/static/oversight.js`` adds one-key
decisions and measures the reading time in the browser. Without the script the
time is measured on the server: the page carries the time it was shown and an
HMAC of it keyed by the caller's session cookie (never in the page), so the
time cannot be edited in the form.
"""

# No ``from __future__ import annotations``: FastAPI reads these closures'
# annotations at definition time, and they name the builder's arguments.

import datetime as dt
import hashlib
import hmac
import math
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from radassure import services
from radassure.errors import ConflictError, NotFoundError
from radassure.services import oversight
from radassure.services.auth import Actor
from radassure.web.render import render_page
from radassure.web.signin import SESSION_COOKIE

__all__ = ["CHOICES", "build_oversight_router", "sign_shown", "timed_seconds"]

#: The decision buttons: choice -> (decision, reason).
CHOICES: dict[str, tuple[str, str | None]] = {
    "agree": ("agree", None),
    "ai_false_positive": ("disagree", "ai_false_positive"),
    "ai_false_negative": ("disagree", "ai_false_negative"),
    "other": ("disagree", "other"),
}
#: A browser-measured time may exceed the server's by the page's own transfer time only.
_CLOCK_SLACK = 5.0
_FINAL_CALLS = {"": None, "positive": True, "negative": False}


def _key(request: Request) -> bytes:
    # The session cookie is HttpOnly and never written into the page, so the
    # signed shown-at time cannot be forged from what the page holds.
    secret = request.cookies.get(SESSION_COOKIE) or request.headers.get("authorization") or ""
    return secret.encode("utf-8")


def sign_shown(key: bytes, result_id: int, shown_at: str) -> str:
    """Return the HMAC binding a shown-at time to one result and one session.

    Examples
    --------
    >>> t0 = "2026-03-02T08:00:00"
    >>> sign_shown(b"k", 7, t0) == sign_shown(b"k", 7, t0) != sign_shown(b"k", 8, t0)
    True

    """
    message = f"radassure-review-shown|{result_id}|{shown_at}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def timed_seconds(
    key: bytes,
    result_id: int,
    *,
    shown_at: str,
    signature: str,
    browser_seconds: str,
    now: dt.datetime,
) -> float | None:
    """Return the reading time to store: the browser's when plausible, else the server's.

    The server's is ``now`` minus the signed shown-at time (None when the
    signature does not match); the browser's is used when it is a number from
    0 to the server's time plus a few seconds.

    Examples
    --------
    >>> t0 = "2026-03-02T08:00:00"
    >>> sig = sign_shown(b"k", 7, t0)
    >>> later = dt.datetime(2026, 3, 2, 8, 0, 12)
    >>> timed_seconds(b"k", 7, shown_at=t0, signature=sig, browser_seconds="", now=later)
    12.0
    >>> timed_seconds(b"k", 7, shown_at=t0, signature=sig, browser_seconds="9.25", now=later)
    9.25
    >>> timed_seconds(b"k", 7, shown_at=t0, signature="x", browser_seconds="9", now=later) is None
    True

    """
    server: float | None = None
    if hmac.compare_digest(sign_shown(key, result_id, shown_at), signature):
        try:
            server = (now - dt.datetime.fromisoformat(shown_at)).total_seconds()
        except ValueError:
            server = None
    try:
        browser = float(browser_seconds) if browser_seconds.strip() else None
    except ValueError:
        browser = None
    if server is None or server < 0:
        return None  # unsigned or tampered: no time rather than a made-up one
    if browser is not None and math.isfinite(browser) and 0 <= browser <= server + _CLOCK_SLACK:
        return round(browser, 3)
    return round(server, 3)


def _csp_with_script(response: Response) -> Response:
    # This page alone runs a script: the local oversight.js, nothing inline.
    csp = response.headers["Content-Security-Policy"]
    response.headers["Content-Security-Policy"] = f"{csp}; script-src 'self'"
    response.headers["Cache-Control"] = "no-store"
    return response


def _segment(value: str) -> str:
    return quote(value, safe="")


def build_oversight_router(
    *,
    store_dependency: Callable[..., services.Store],
    actor_dependency: Callable[..., Actor],
) -> APIRouter:
    """Return the router of ``/oversight`` and ``/discrepancies``.

    Parameters
    ----------
    store_dependency : callable
        FastAPI dependency giving the open :class:`~radassure.services.Store`.
    actor_dependency : callable
        FastAPI dependency giving the signed-in user allowed the route; for a
        form post it checks the form's CSRF token.

    Returns
    -------
    fastapi.APIRouter
        ``GET /oversight``, ``GET|POST /oversight/{tool}/{version}``,
        ``GET /discrepancies`` and ``POST /discrepancies/{id}/adjudicate``.

    Examples
    --------
    >>> router = build_oversight_router(store_dependency=lambda: None,
    ...                                 actor_dependency=lambda: None)
    >>> sorted(r.path for r in router.routes)[0]
    '/discrepancies'

    """
    router = APIRouter(include_in_schema=False)
    store_dep = Annotated[services.Store, Depends(store_dependency)]
    actor_dep = Annotated[Actor, Depends(actor_dependency)]

    @router.get("/oversight", response_class=HTMLResponse)
    def oversight_index(request: Request, store: store_dep, actor: actor_dep) -> HTMLResponse:
        """List each tool's versions, each linking to its oversight page."""
        return render_page(
            request, "oversight_index.html", json_url="/api/tools",
            tools=services.list_tools(store),
        )  # fmt: skip

    def review_page(
        request: Request,
        store: services.Store,
        actor: Actor,
        tool: str,
        version: str,
        *,
        error: str | None = None,
        recorded: str | None = None,
        status_code: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        items = oversight.queue_for_review(store, tool, version, actor, limit=1)
        item = items[0] if items else None
        shown_at = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat()
        base = f"/oversight/{_segment(tool)}/{_segment(version)}"
        response = render_page(
            request, "oversight.html", status_code=status_code,
            json_url=f"/api/oversight/{_segment(tool)}/{_segment(version)}/queue",
            tool=tool, version=version, item=item, action=base, error=error,
            recorded=recorded, csrf=getattr(request.state, "csrf_token", None) or "",
            shown_at=shown_at,
            shown_sig=sign_shown(_key(request), item.result_id, shown_at) if item else "",
            form=form or {},
        )  # fmt: skip
        return _csp_with_script(response)

    @router.get("/oversight/{tool:path}/{version}", response_class=HTMLResponse)
    def oversight_page(
        tool: str, version: str, request: Request, store: store_dep, actor: actor_dep, *,
        recorded: str | None = None,
    ) -> Response:  # fmt: skip
        """Show the next AI result the signed-in reporter has not reviewed."""
        return review_page(request, store, actor, tool, version, recorded=recorded)

    @router.post("/oversight/{tool:path}/{version}", response_class=HTMLResponse)
    def record_decision(
        tool: str,
        version: str,
        request: Request,
        store: store_dep,
        actor: actor_dep,
        *,
        result_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
        choice: Annotated[str, Form(max_length=40)],
        comment: Annotated[str, Form(max_length=4000)] = "",
        final_call: Annotated[str, Form(max_length=20)] = "",
        shown_at: Annotated[str, Form(max_length=40)] = "",
        shown_sig: Annotated[str, Form(max_length=100)] = "",
        seconds_taken: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        """Record the decision and go on to the next result (or show what to fix)."""
        form = {"comment": comment, "final_call": final_call, "choice": choice}
        decision, reason = CHOICES.get(choice, (choice, None))
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        seconds = timed_seconds(
            _key(request), result_id, shown_at=shown_at, signature=shown_sig,
            browser_seconds=seconds_taken, now=now,
        )  # fmt: skip
        try:
            if final_call not in _FINAL_CALLS:
                raise ValueError("final_call: choose positive, negative or leave it implied.")
            oversight.record_review(
                store, actor, result_id, decision, reason=reason, comment=comment or None,
                final_call=_FINAL_CALLS[final_call], seconds_taken=seconds,
                address=request.client.host if request.client else None,
            )  # fmt: skip
        except (ValueError, ConflictError) as exc:
            return review_page(
                request, store, actor, tool, version, error=str(exc), form=form,
                status_code=409 if isinstance(exc, ConflictError) else 422,
            )  # fmt: skip
        done = urlencode({"recorded": choice})
        return RedirectResponse(
            f"/oversight/{_segment(tool)}/{_segment(version)}?{done}", status_code=303
        )

    @router.get("/discrepancies", response_class=HTMLResponse)
    def discrepancies_page(
        request: Request, store: store_dep, actor: actor_dep,
        tool: str | None = None, adjudicated: int | None = None,
    ) -> HTMLResponse:  # fmt: skip
        """Show disagreements waiting for a ruling, each with its adjudication form."""
        tool = tool or None
        items = oversight.discrepancy_queue(store, actor, tool)
        query = f"?{urlencode({'tool': tool})}" if tool else ""
        return render_page(
            request, "discrepancies.html", json_url=f"/api/discrepancies{query}", items=items,
            tool=tool, adjudicated=adjudicated,
            csrf=getattr(request.state, "csrf_token", None) or "",
        )  # fmt: skip

    @router.post("/discrepancies/{review_id}/adjudicate")
    def adjudicate_form(
        review_id: int,
        request: Request,
        store: store_dep,
        actor: actor_dep,
        *,
        outcome: Annotated[str, Form(max_length=20)],
        note: Annotated[str, Form(max_length=4000)] = "",
        make_reference: Annotated[str, Form(max_length=10)] = "",
    ) -> RedirectResponse:
        """Record the ruling, then go back to the queue."""
        if outcome not in ("present", "absent"):
            raise ValueError("outcome: choose 'finding present' or 'finding absent'.")
        if not 1 <= review_id < 2**31:
            raise NotFoundError(f"No review with id {review_id}.")
        info = oversight.adjudicate(
            store, actor, review_id, outcome == "present", note=note.strip() or None,
            make_reference=bool(make_reference),
            address=request.client.host if request.client else None,
        )  # fmt: skip
        return RedirectResponse(f"/discrepancies?adjudicated={info.id}", status_code=303)

    return router
