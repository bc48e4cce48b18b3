"""`PageRouter`: the pages' routers, whose plain-`def` pages make one trip to the thread pool instead of four.

FastAPI runs a `def` route in the thread pool, and each `def` dependency in a trip of its own: a page taking
`conn: DbDep` and `user: ResidentWebUser` went there four times (check out the connection, look up the session,
the page itself, commit). Each trip costs the event loop about 0.3 ms of CPU at 50 concurrent users (a hand-off
through a queue and a lock, then the GIL), which was a fifth of a page's cost in one API process (bench.web,
profiled with `py-spy --gil`). Here a page's `DbDep` and sign-in parameters (`WebUser`, `OptionalWebUser` and
every `web_require(...)` alias) are taken out of what FastAPI resolves, and the connection checkout, the session
lookup, the page and the commit run in one worker thread, with the same rules as the dependencies they replace:
the database gate and pool wait of `api.deps.request_connection`, `LoginRequired` without a session,
`WebForbidden` for a role the page does not admit. Other parameters (path, query, form, `NowDep`, `CsrfChecked`)
are left to FastAPI as before.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.params import Depends as DependsParam
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import get_conn, request_connection
from api.web.deps import WEB_ROLES, LoginRequired, WebForbidden, login_url, optional_web_user, session_user, web_user

_CONN = "conn"
_OPTIONAL = "optional"


def _inner(hint: Any) -> object | None:
    """What a parameter annotated `hint` is filled with inside the hop: _CONN, _OPTIONAL, or the set of roles
    admitted (empty: any signed-in user); None when FastAPI resolves it."""
    if typing.get_origin(hint) is not typing.Annotated:
        return None
    for meta in typing.get_args(hint)[1:]:
        if not isinstance(meta, DependsParam):
            continue
        dependency = meta.dependency
        if dependency is get_conn:
            return _CONN
        if dependency is optional_web_user:
            return _OPTIONAL
        if dependency is web_user:
            return frozenset()
        roles = getattr(dependency, WEB_ROLES, None)
        if roles is not None:
            return roles
    return None


def _principal(request: Request, conn: Any, wanted: object) -> Principal | None:
    user = session_user(request, conn)
    if wanted == _OPTIONAL:
        return user
    if user is None:
        raise LoginRequired(login_url(request))
    assert isinstance(wanted, frozenset)
    if wanted and user.role not in wanted:
        raise WebForbidden(WebForbidden.NOT_OPEN)
    return user


def one_hop(page: Callable[..., Any]) -> Callable[..., Any]:
    """`page` (a plain `def`) as an async endpoint that runs it, its connection and its sign-in in one hop."""
    hints = typing.get_type_hints(page, include_extras=True)
    signature = inspect.signature(page)
    inner = {name: kind for name in signature.parameters if (kind := _inner(hints.get(name))) is not None}
    if not inner or inspect.iscoroutinefunction(page):
        return page
    outer = [p.replace(annotation=hints.get(p.name, p.annotation)) for name, p in signature.parameters.items()
             if name not in inner]
    takes_request = "request" in signature.parameters
    if not takes_request:
        outer.insert(0, inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request))
    needs_conn = _CONN in inner.values() or any(k != _OPTIONAL for k in inner.values())

    async def endpoint(**values: Any) -> Any:
        request: Request = values["request"] if takes_request else values.pop("request")

        def work() -> Any:
            if not needs_conn:  # only an optional user: a short-lived connection of its own, as before
                return page(**values, **{name: optional_web_user(request) for name in inner})
            with request_connection(request) as conn:
                filled = {name: conn if kind == _CONN else _principal(request, conn, kind)
                          for name, kind in sorted(inner.items(), key=lambda item: item[1] != _CONN)}
                return page(**values, **filled)

        return await run_in_threadpool(work)

    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):  # not __wrapped__: FastAPI would
        setattr(endpoint, attribute, getattr(page, attribute))               # unwrap it and see a `def`
    endpoint.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=outer, return_annotation=hints.get("return", signature.return_annotation))
    return endpoint


class PageRouter(APIRouter):
    """An `APIRouter` whose plain-`def` routes taking a connection or a signed-in user run in one hop."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().add_api_route(path, one_hop(endpoint), **kwargs)
