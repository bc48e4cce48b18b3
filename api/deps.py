"""Dependencies declared once, so that route signatures read as documentation: `DbDep`, `CurrentUser`,
`require(...)` for role checks, and `AppState` for what the composition root put on the app."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from api.auth import Principal, Role, authenticate
from tickets.config import DEFAULT_CONFIG, TicketConfig


@dataclass
class AppState:
    """What the API needs from the composition root (forewarn.runtime): never read from globals."""

    pool: ConnectionPool
    broker_check: Any = None  # callable() -> bool: is the broker reachable (for /readyz)
    extras: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the platform's clock
    tickets: TicketConfig = DEFAULT_CONFIG  # the lifecycle's configuration, built from the settings


def get_state(request: Request) -> AppState:
    return request.app.state.forewarn


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled connection for the request; committed when the route returns, rolled back if it raises."""
    with get_state(request).pool.connection() as conn:
        yield conn


DbDep = Annotated[psycopg.Connection, Depends(get_conn)]


def get_now(request: Request) -> datetime:
    """The platform's time for this request: the wall clock, or the simulation's when a benchmark runs one."""
    return get_state(request).clock()


NowDep = Annotated[datetime, Depends(get_now)]
StateDep = Annotated[AppState, Depends(get_state)]
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

    def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs one of the roles: {names}")
        return user

    return Depends(check)


StaffUser = Annotated[Principal, require(Role.AGENT, Role.ENGINEER, Role.MANAGER)]
ManagerUser = Annotated[Principal, require(Role.MANAGER)]
