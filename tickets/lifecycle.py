"""The ticket lifecycle as one table of states and allowed transitions, readable in one screen and drawn
as a Mermaid diagram (`mermaid()`, rendered into docs/lifecycle.md). Pure: no database here."""

from __future__ import annotations

from enum import StrEnum


class TicketState(StrEnum):
    NEW = "new"  # received and classified, not yet routed
    DISPATCHED = "dispatched"  # routed to a department, waiting for someone to take it
    ACKNOWLEDGED = "acknowledged"  # the handler has responded (stops the response clock)
    ON_SITE = "on_site"  # the handler is at the device or the unit
    WAITING_RESIDENT = "waiting_resident"  # blocked on the resident (access, information): SLA paused
    RESOLVED = "resolved"  # work done; waiting for the return visit
    CLOSED = "closed"  # the resident was satisfied (or no resident to ask): the loop is closed
    REOPENED = "reopened"  # unsatisfied rating, or the same fault came back
    CANCELLED = "cancelled"  # withdrawn, duplicate or false alarm


class TicketEvent(StrEnum):
    DISPATCH = "dispatch"
    TRANSFER = "transfer"  # to another department: counted, because passing the buck is a known failure
    ACKNOWLEDGE = "acknowledge"
    ARRIVE = "arrive"
    WAIT_RESIDENT = "wait_resident"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"


S, E = TicketState, TicketEvent

# (from state, event) -> to state. Everything not listed is illegal.
TRANSITIONS: dict[tuple[TicketState, TicketEvent], TicketState] = {
    (S.NEW, E.DISPATCH): S.DISPATCHED,
    (S.NEW, E.CANCEL): S.CANCELLED,
    (S.DISPATCHED, E.ACKNOWLEDGE): S.ACKNOWLEDGED,
    (S.DISPATCHED, E.TRANSFER): S.DISPATCHED,
    (S.DISPATCHED, E.CANCEL): S.CANCELLED,
    (S.ACKNOWLEDGED, E.ARRIVE): S.ON_SITE,
    (S.ACKNOWLEDGED, E.RESOLVE): S.RESOLVED,
    (S.ACKNOWLEDGED, E.WAIT_RESIDENT): S.WAITING_RESIDENT,
    (S.ACKNOWLEDGED, E.TRANSFER): S.DISPATCHED,
    (S.ACKNOWLEDGED, E.CANCEL): S.CANCELLED,
    (S.ON_SITE, E.RESOLVE): S.RESOLVED,
    (S.ON_SITE, E.WAIT_RESIDENT): S.WAITING_RESIDENT,
    (S.ON_SITE, E.CANCEL): S.CANCELLED,
    (S.WAITING_RESIDENT, E.RESUME): S.ACKNOWLEDGED,
    (S.WAITING_RESIDENT, E.CANCEL): S.CANCELLED,
    (S.RESOLVED, E.CLOSE): S.CLOSED,
    (S.RESOLVED, E.REOPEN): S.REOPENED,
    (S.CLOSED, E.REOPEN): S.REOPENED,
    (S.REOPENED, E.DISPATCH): S.DISPATCHED,
    (S.REOPENED, E.CANCEL): S.CANCELLED,
}

# States in which a ticket is still being worked on (SLA clocks run, sweeps look at them).
ACTIVE_STATES = frozenset({S.NEW, S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE, S.REOPENED})
TERMINAL_STATES = frozenset({S.CANCELLED})
# Before acknowledgement the response clock runs; after it, the resolution clock.
RESPONSE_PENDING = frozenset({S.NEW, S.DISPATCHED, S.REOPENED})


class IllegalTransition(ValueError):
    """An event that the lifecycle table does not allow from the ticket's current state."""

    def __init__(self, state: TicketState | str, event: TicketEvent | str) -> None:
        allowed = sorted(e.value for (s, e) in TRANSITIONS if s == state)
        super().__init__(
            f"cannot {event!s} a ticket that is {state!s}; allowed from {state!s}: "
            + (", ".join(allowed) if allowed else "nothing (terminal state)")
        )
        self.state = state
        self.event = event


def next_state(state: TicketState | str, event: TicketEvent | str) -> TicketState:
    """The state after `event`, or `IllegalTransition`."""
    try:
        key = (TicketState(state), TicketEvent(event))
    except ValueError as exc:
        raise IllegalTransition(state, event) from exc
    if key not in TRANSITIONS:
        raise IllegalTransition(state, event)
    return TRANSITIONS[key]


def allowed_events(state: TicketState | str) -> list[TicketEvent]:
    return [e for (s, e) in TRANSITIONS if s == TicketState(state)]


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, generated from `TRANSITIONS` (docs/lifecycle.md embeds it)."""
    lines = ["stateDiagram-v2", f"    [*] --> {S.NEW.value}"]
    for (source, event), target in TRANSITIONS.items():
        lines.append(f"    {source.value} --> {target.value}: {event.value}")
    lines.append(f"    {S.CLOSED.value} --> [*]")
    lines.append(f"    {S.CANCELLED.value} --> [*]")
    return "\n".join(lines) + "\n"
