"""Dependencies declared once, so that route signatures read as documentation: `DbDep`, `CurrentUser`,
`require(...)` for role checks, and `AppState` for what the composition root put on the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from api.auth import Principal, Role, authenticate
from api.guard import PROBE_FLAG, RETRY_AFTER_DOWN_S, ApiLimits, DatabaseGate, DatabaseUnavailable
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.review.compute import Targets


@dataclass
class AppState:
    """What the API needs from the composition root (forewarn.runtime): never read from globals."""

    pool: ConnectionPool
    broker_check: Any = None  # callable() -> bool: is the broker reachable (for /readyz)
    extras: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the platform's clock
    tickets: TicketConfig = DEFAULT_CONFIG  # the lifecycle's configuration, built from the settings
    targets: Targets = Targets()  # the review's red/green targets, from the settings
    limits: ApiLimits = field(default_factory=ApiLimits)
    gate: DatabaseGate = field(default_factory=DatabaseGate)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.forewarn
    return state


@contextmanager
def request_connection(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for the request; committed when the block ends, rolled back if it raises.

    Waits at most `limits.wait_s` (then PoolTimeout, answered 503 by api.guard); while the database is known
    to be down, only the gate's probe request tries at all."""
    state = get_state(request)
    if state.gate.down and not getattr(request.state, PROBE_FLAG, False):
        raise DatabaseUnavailable("the database is unavailable; retry shortly", RETRY_AFTER_DOWN_S)
    with state.pool.connection(timeout=state.limits.wait_s) as conn:
        state.gate.mark_up()
        yield conn


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """`request_connection` as a dependency (pages get theirs in one hop instead: api/web/one_hop.py)."""
    with request_connection(request) as conn:
        yield conn


# Scoped to the function: the commit runs before the response is sent, so a commit the database refuses is
# answered as an error (503 by api.guard) instead of a success whose row was lost (tests/api/test_commit.py).
DbDep = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]


def get_now(request: Request) -> datetime:
    """The platform's time for this request: the wall clock, or the simulation's when a benchmark runs one."""
    return get_state(request).clock()


async def _now_dep(request: Request) -> datetime:
    return get_now(request)


# Pure dependencies are resolved in the event loop: FastAPI runs a plain `def` dependency in the thread pool, one
# hand-off per dependency per request, which cost a page more than its own queries (bench.web).
NowDep = Annotated[datetime, Depends(_now_dep)]


def get_ticket_config(request: Request) -> TicketConfig:
    """The lifecycle's configuration (SLA tiers, quiet hours, time zone, windows) the composition root built."""
    return get_state(request).tickets


async def _ticket_config_dep(request: Request) -> TicketConfig:
    return get_ticket_config(request)


async def _targets_dep(request: Request) -> Targets:
    return get_state(request).targets


async def _state_dep(request: Request) -> AppState:
    return get_state(request)


TicketConfigDep = Annotated[TicketConfig, Depends(_ticket_config_dep)]
TargetsDep = Annotated[Targets, Depends(_targets_dep)]
StateDep = Annotated[AppState, Depends(_state_dep)]
_bearer = HTTPBearer(auto_error=False)


def current_user(
    conn: DbDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = authenticate(conn, credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked token",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: Role) -> Any:
    """A dependency that admits only `roles` (admin is always admitted)."""
    allowed = frozenset(roles) | {Role.ADMIN}

    async def check(user: CurrentUser) -> Principal:  # pure: resolved in the event loop
        if user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
        return user

    return Depends(check)


StaffUser = Annotated[Principal, require(Role.AGENT, Role.ENGINEER, Role.SUPERVISOR, Role.MANAGER)]
ManagerUser = Annotated[Principal, require(Role.MANAGER)]
