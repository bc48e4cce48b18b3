"""What the tickets package can be tuned with. Plain constructor arguments: the composition root maps the
product's settings onto a `TicketConfig` and passes it down; nothing here reads the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from tickets.classify import Category, Tier
from tickets.profiles import Profiles, SlaProfile, default_profiles
from tickets.sla import DEFAULT_TZ, Limit, SlaPolicy
from tickets.taxonomy import Taxonomy

if TYPE_CHECKING:
    from tickets.learned import LearnedClassifier


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
    # Working hours on working days (local time): outside them urgent tickets go to the on-call rota
    # (tickets/on_call.py; docs/lifecycle.md "On call outside working hours"). 08:30-17:30, a property office's day.
    work_start: time = time(8, 30)
    work_end: time = time(17, 30)
    # A return visit later than this after resolution is recorded as late (DESIGN.md: within 48 hours).
    return_visit_within: timedelta = timedelta(hours=48)
    # An external mediation (tickets/mediation.py) pauses the ticket's clocks; one still open this long after its
    # start is chased up the SLA ladder instead (tickets/sweeps.py): a committee's mediation takes days, not months.
    mediation_within: timedelta = timedelta(days=14)
    # SLA limits set by the operator for every site, whatever its profile: (tier, "respond" | "resolve") -> limit
    # (the FOREWARN_SLA_<TIER>_<LIMIT> settings). Unset limits are the site's profile's.
    sla_limits: Mapping[tuple[Tier, str], Limit] = field(default_factory=dict)
    # Far above what a real household files (a handful a month), low enough that a stuck client cannot flood the
    # queue: complaints one resident may file in any hour (counted in the database, under a lock on the resident).
    complaints_per_hour: int = 20
    # Per category × tier (in code: winning over the profile and `sla_limits`; request kinds use it).
    sla_overrides: Mapping[tuple[str, str], SlaPolicy] = field(default_factory=dict)
    # Per tier, the (respond, resolve) milestones of those overrides (a request kind's clocks: an urgent repair's
    # first clock is "on_site", its second "resolve"; an enquiry's second is "answer"). Unset: the profile's tier's.
    kind_milestones: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # Silence groups (tickets/silence.py; docs/lifecycle.md "Silence groups"): devices of one building whose
    # offline reports begin within `silence_window` of each other are one event when there are at least
    # `silence_devices` of them, or at least `silence_share` of the building's monitored devices (never fewer than
    # two). 90 s: a device's last will fires 1–1.5 keep-alives (60 s) after its last packet, so the wills of one
    # power cut spread over up to a minute; 90 s holds them all, and three unrelated boxes dying within 90 s of each
    # other in one building is far rarer than a shared cause (the power, the switch they hang on).
    silence_window: timedelta = timedelta(seconds=90)
    silence_devices: int = 3
    silence_share: float = 0.5
    # Residents are warned only when the group has been silent this long: a blip the building rides out (a breaker
    # reset, a switch reboot) leaves a ticket for engineering and disturbs nobody. Two minutes is well inside the
    # first complaints of a real outage (the silence bench: 7 minutes) and longer than a breaker or a switch needs.
    silence_hold: timedelta = timedelta(minutes=2)
    # Group risk (tickets/group_risk.py; docs/lifecycle.md "Group risk and sensitivity"; handbook 004 群体性事件):
    # this many distinct households complaining about one fault point in one building within `group_risk_window`,
    # none of them folded into an incident, raise one flag. Five: below it a few neighbours with one leak is
    # ordinary work; five flats is a floor or a riser, and the size at which residents start to organise.
    group_risk_households: int = 5
    group_risk_window: timedelta = timedelta(hours=24)
    # A complaint threatening the media, a lawyer or collective action must be answered within this long of
    # arriving (never later than its tier's clock): 30 min, the handbooks' urgent on-site clock (003), because a
    # resident who is heard at once rarely goes to the press.
    sensitive_respond: timedelta = timedelta(minutes=30)
    # While a major ticket a resident raised stays open, they hear how it is going once per this much working time
    # (tickets/progress.py): a working day, the rhythm of the handbooks' progress reports (001, 003).
    progress_every: timedelta = timedelta(hours=24)
    # A repair is under warranty this long after it is resolved: the same fault point in the same unit within it
    # links to the original ticket (tickets/warranty.py). 90 days: the usual guarantee on a property repair.
    warranty: timedelta = timedelta(days=90)
    # The same household on the same fault point joins its open complaint ticket opened within this long, on any
    # channel (tickets/household.py; issue #16 point 4: 72 h). Zero: never.
    join_window: timedelta = timedelta(hours=72)

    # The complaint taxonomy (tickets/data/taxonomy.yaml unless an operator's file replaces it).
    taxonomy: Taxonomy | None = field(default=None, compare=False)

    # The classifier that learns from the desk's corrections (tickets/learned.py): one per process, built by the
    # composition root and rebuilt from the recorded corrections on start. None: the taxonomy's rules alone.
    learned: LearnedClassifier | None = field(default=None, compare=False)

    # The SLA profiles (tickets/data/sla_profiles.yaml unless a test passes its own).
    profiles: Profiles | None = field(default=None, compare=False)

    def sla_profiles(self) -> Profiles:
        return self.profiles or default_profiles()

    def profile(self, name: str | None) -> SlaProfile:
        """The profile `name` (None: the default); UnknownProfile for a name not in the profiles."""
        return self.sla_profiles().get(name)

    def policy(self, category: Category | str, tier: Tier | str, profile: str | None = None) -> SlaPolicy:
        """The SLA policy of a ticket of this category and tier on profile `profile` (None: the default): a
        category × tier override, else the profile's tier with the operator's `sla_limits` laid over it."""
        if (str(category), str(tier)) in self.sla_overrides:
            return self.sla_overrides[(str(category), str(tier))]
        tier = Tier(tier)
        base = self.profile(profile).tiers[tier]
        return SlaPolicy(self.sla_limits.get((tier, "respond"), base.respond),
                         self.sla_limits.get((tier, "resolve"), base.resolve))


DEFAULT_CONFIG = TicketConfig()
