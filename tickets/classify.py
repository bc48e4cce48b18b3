"""Classification: category, severity tier and (for facility complaints) the device kind, from a complaint's
text (zh-CN and en keyword rules) or from an alarm's fault. Staff may correct the result; the correction is
recorded as a ticket event by `tickets.flows.reclassify`."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from opencc import OpenCC

from detectors.alarm import Severity
from tickets.taxonomy import Category, FaultPoint, Keyword, Taxonomy, TaxonomyError, Tier, default_taxonomy

if TYPE_CHECKING:
    from tickets.learned import LearnedClassifier

__all__ = ["Category", "Classification", "TaxonomyError", "Tier", "classify_alarm", "classify_text", "normalise",
           "warns_residents"]


@dataclass(frozen=True, slots=True)
class Classification:
    category: Category
    tier: Tier
    subcategory: str | None = None  # the fault point: elevator, water, cleaning, seepage, noise, parcels, ...
    device_kind: str | None = None  # devices.kind the complaint is about, for folding into incidents
    matched: tuple[str, ...] = ()  # the keywords that decided it, for the ticket's timeline
    department: str | None = None  # the fault point's department, when the taxonomy names one


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")


def normalise(text: str) -> str:
    """Text as the taxonomy's keywords are written: full-width forms folded (NFKC), traditional Chinese
    converted to simplified (OpenCC's t2s tables), lower case."""
    simplified: str = _t2s().convert(unicodedata.normalize("NFKC", text))
    return simplified.lower()


def _found(keyword: Keyword, text: str) -> bool:
    return keyword.pattern.search(text) is not None if keyword.pattern else keyword.word in text


def _hits(point: FaultPoint, text: str) -> tuple[float, tuple[str, ...]]:
    """A fault point's score: the weights of its words in `text`, a word inside a longer matched one not counted
    twice (渗 inside 渗漏)."""
    found = [k for k in point.keywords if _found(k, text)]
    kept = [k for k in found if not any(k.word != o.word and k.word in o.word for o in found)]
    return sum(k.weight for k in kept), tuple(k.word for k in kept)


# Alarm faults whose effect is major whatever the detector's severity says.
_MAJOR_FAULTS = frozenset({"entrapment", "pipe_burst", "supply_outage", "forced_open"})
_KIND_SUBCATEGORY = {"elevator": "elevator", "water": "water", "access_door": "door"}
# Alarm faults that do not change the service residents get: a propped or forced door, a lock that does not engage
# and a low reader battery are for security and engineering; a faulty sensor or a monitoring box that went offline
# says nothing about the lift or the water. A device's learned normal departed from (`unusual_behaviour`, no rule
# names it) is a matter for an engineer to look at, not news for residents. They open a ticket and a work order;
# residents are not warned.
QUIET_FAULTS = frozenset({"forced_open", "held_open", "lock_failure", "battery_low", "sensor_stuck",
                          "sensor_spikes", "sensor_dropout", "device_offline", "unusual_behaviour",
                          "usual_activity_missing"})


def warns_residents(fault: str) -> bool:
    """Whether an alarm of this fault is news for the residents the device serves (an early-warning notice)."""
    return fault not in QUIET_FAULTS


def classify_text(text: str, taxonomy: Taxonomy | None = None,
                  learned: LearnedClassifier | None = None) -> Classification:
    """Category, fault point and tier from a complaint's words (simplified or traditional Chinese, English).
    The fault point with the highest score wins (the taxonomy's order breaks ties). Unknown text is a general
    facility matter left for staff to correct, rather than a guess at a department. With a `learned` model that
    has learned at least one of the desk's corrections, its category wins when it is sure enough and differs."""
    tax = taxonomy or default_taxonomy()
    found = _by_rules(text, tax)
    if learned is None or not learned.corrections:
        return found
    category, p = learned.predict(text)
    if category is found.category or p < learned.min_probability:
        return found
    # The category's own tier and department; the fault point is left for staff (the model knows categories).
    point = next(fp for fp in tax.fault_points if fp.category is category)
    return Classification(category, point.tier, None, None, (f"learned:{p:.2f}",), tax.departments[category])


def _by_rules(text: str, tax: Taxonomy) -> Classification:
    lowered = normalise(text)
    for compound in tax.ignore:
        lowered = lowered.replace(compound, " ")
    best: tuple[float, FaultPoint, tuple[str, ...]] | None = None
    for point in tax.fault_points:
        score, matched = _hits(point, lowered)
        if score and (best is None or score > best[0]):
            best = (score, point, matched)
    if best is None:
        return Classification(Category.FACILITY, Tier.GENERAL)
    _, point, matched = best
    tier = point.tier
    if point.escalates:
        # An English cue inside a matched phrase is that phrase's word ("fire" in "fire extinguisher").
        cues = tuple(k.word for k in tax.major if _found(k, lowered)
                     and not any(k.pattern and k.word in m and " " in m for m in matched))
        if cues:
            tier, matched = Tier.MAJOR, matched + cues
    return Classification(point.category, tier, point.name, point.device_kind, matched, point.department)


def classify_alarm(device_kind: str, fault: str, severity: Severity | str) -> Classification:
    """Preventive tickets are facility maintenance; critical alarms and people-at-risk faults are major."""
    major = fault in _MAJOR_FAULTS or Severity(severity) is Severity.CRITICAL
    return Classification(Category.FACILITY, Tier.MAJOR if major else Tier.GENERAL,
                          _KIND_SUBCATEGORY.get(device_kind), device_kind, (fault,))


# Category -> handling department (departments are seeded by 0001_estate.sql and 0075_desk_departments.sql).
DEPARTMENT_FOR: dict[Category, str] = dict(default_taxonomy().departments)
