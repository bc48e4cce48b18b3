"""What the tickets package can be tuned with. Plain constructor arguments: the composition root maps the
product's settings onto a `TicketConfig` and passes it down; nothing here reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from tickets.classify import Category, Tier
from tickets.sla import DEFAULT_TZ, SlaPolicy, policy_for
from tickets.taxonomy import Taxonomy


@dataclass(frozen=True, slots=True)
class TicketConfig:
    tz: ZoneInfo = DEFAULT_TZ
    # A complaint folds into an open incident detected up to this long after it, or while it is open.
    fold_window: timedelta = timedelta(hours=6)
    # The same device fault coming back within this window reopens the previous ticket instead of a new one.
    reopen_window: timedelta = timedelta(days=7)
    # Non-critical notices wait until morning; critical ones (major incidents) go out at once.
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)
    # A return visit later than this after resolution is recorded as late (DESIGN.md: within 48 hours).
    return_visit_within: timedelta = timedelta(hours=48)
    # SLA policies: per tier (replacing tickets/sla.py's DEFAULT_POLICIES for that tier), and per category × tier
    # (winning over both).
    sla_tiers: Mapping[Tier, SlaPolicy] = field(default_factory=dict)
    # Far above what a real household files (a handful a month), low enough that a stuck client cannot flood the
    # queue: complaints one resident may file in any hour (counted in the database, under a lock on the resident).
    complaints_per_hour: int = 20
    sla_overrides: Mapping[tuple[str, str], SlaPolicy] = field(default_factory=dict)

    # The complaint taxonomy (tickets/data/taxonomy.yaml unless an operator's file replaces it).
    taxonomy: Taxonomy | None = field(default=None, compare=False)

    def policy(self, category: Category | str, tier: Tier | str) -> SlaPolicy:
        """The SLA policy of a ticket of this category and tier, as configured."""
        return policy_for(category, tier, self.sla_overrides, self.sla_tiers)


DEFAULT_CONFIG = TicketConfig()
