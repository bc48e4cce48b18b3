"""Domain errors of the tickets package. The API turns them into 4xx answers (see api/routes/tickets.py)."""

from __future__ import annotations

from tickets.lifecycle import IllegalTransition

__all__ = ["IllegalTransition", "NotFound", "ConcurrentChange", "ClosureBlocked", "WorkOrdersOpen",
           "IllegalWorkOrderStep", "WorkOrderExists", "InvalidInput", "NotAllowed", "RateLimited"]


class NotFound(LookupError):
    """No such ticket, incident, resident or unit."""


class ConcurrentChange(RuntimeError):
    """Someone else changed the ticket between reading and writing it: reload and retry."""


class ClosureBlocked(RuntimeError):
    """The device behind a facility ticket is still abnormal: it cannot be resolved without an override reason."""


class WorkOrdersOpen(ClosureBlocked):
    """The ticket carries work orders still open (not done, not cancelled): it resolves when the last is done.
    `departments` names them, so the message can say whom to chase."""

    def __init__(self, message: str, departments: list[str]) -> None:
        super().__init__(message)
        self.departments = departments


class IllegalWorkOrderStep(IllegalTransition):
    """A step a work order does not take from its status (e.g. resolving one nobody accepted)."""

    def __init__(self, work_order_id: int, status: str, event: str, allowed: list[str]) -> None:
        ValueError.__init__(self, f"cannot {event} work order {work_order_id}: it is {status}; allowed from {status}: "
                            + (", ".join(allowed) or "nothing"))
        self.state = status
        self.event = event


class WorkOrderExists(RuntimeError):
    """The department already has a live work order on the ticket (one per department and ticket)."""


class InvalidInput(ValueError):
    """A request that cannot be carried out as given (says what was wrong and how to fix it)."""


class NotAllowed(PermissionError):
    """The user may not do this to this ticket or work order (says who may)."""


class RateLimited(RuntimeError):
    """Too many requests of one kind from one person; `retry_after_s` says when the next one is accepted."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
