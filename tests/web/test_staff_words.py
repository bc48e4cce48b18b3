"""Every fault a detector raises and every event a ticket's timeline can hold is named in words on the staff pages
(api/web/staff_words.py), in both languages: a new kind written without a name fails here, not in front of an agent."""

from __future__ import annotations

import ast
from datetime import UTC, datetime

from api.web.i18n import Catalogues
from api.web.staff_format import timeline_items
from api.web.staff_words import DETECTOR_LABEL, EVENT_LABEL, METRIC_LABEL
from detectors import learned, peers
from detectors.alarm import DEVICE_OFFLINE
from detectors.engine import DetectorEngine
from detectors.learned import CORRUPTS
from detectors.learned import FAULT as LEARNED_FAULT
from detectors.presence import Presence
from detectors.rules.sensor import SensorHealth
from ingest.contract import SPEC_BY_NAME
from tests.conftest import ROOT
from tickets.lifecycle import TicketEvent
from tickets.milestones import PLAN_RECORDED, PROGRESS_REPORTED
from tickets.notices import _FAULT_WORDS as RESIDENT_WORDS
from tickets.silence import GROUP_FAULT
from tickets.sweeps import LADDER
from tickets.titles import FAULT_NAMES
from tickets.workorders import STEPS, TimelineEntry


def _literal_events() -> set[str]:
    """The event names written as literals: `add_event(conn, ticket, "name", ...)` anywhere in the product."""
    found = set()
    for package in ("tickets", "api", "forewarn", "ingest", "detectors"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "add_event" \
                        and len(node.args) >= 3 and isinstance(node.args[2], ast.Constant):
                    found.add(node.args[2].value)
    return found


def test_every_event_the_product_writes_has_a_label():
    literal = _literal_events()
    assert {"created", "alarm_attached", "complaint_folded", "verdict"} <= literal  # the scan finds them
    written = literal | {e.value for e in TicketEvent} | {f"work_order_{s}" for s in STEPS.values()} \
        | {f"work_order_{e.value}" for e in (TicketEvent.ACKNOWLEDGE, TicketEvent.ARRIVE, TicketEvent.RESOLVE)} \
        | {f"{prefix}{level}" for prefix in ("sla_", "work_order_sla_") for level, _, _ in LADDER} \
        | {"assigned", "reassigned", PLAN_RECORDED, PROGRESS_REPORTED}
    assert sorted(written - EVENT_LABEL.keys()) == []


def test_labels_are_translated_and_distinct():
    catalogues = Catalogues.load()
    zh, en = catalogues.gettext("zh-CN"), catalogues.gettext("en")
    for code, label in EVENT_LABEL.items():
        assert zh(label) != label and en(label) == label, code
    assert len({zh(label) for label in EVENT_LABEL.values()}) == len(set(EVENT_LABEL.values()))  # no two alike


def test_an_item_names_its_department_and_keeps_an_unknown_code_as_it_is():
    at = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    entries = [TimelineEntry(at, "agent-1", "transfer", "dispatched", "dispatched", "门禁归秩序部管",
                             {"department_id": "security"}),
               TimelineEntry(at, "forewarn", "something_new", None, None, "", {}),
               TimelineEntry(at, "system:group_risk", "group_risk", None, None, "", {}),
               TimelineEntry(at, "agent-9", "note", None, None, "", {})]
    moved, unknown, risk, gone = timeline_items(entries, {"security": "秩序部"}, {"agent-1": "王丽"})
    assert (moved.label, moved.department, moved.at) == ("Transferred", "秩序部", "2026-12-07 10:00")
    assert (unknown.label, unknown.code, unknown.department) == (None, "something_new", None)  # shown as it is
    # Who took each step, by name; the platform's own steps as automatic; an id nobody is named by, as it is.
    assert (moved.actor, moved.automatic) == ("王丽", False)
    assert (unknown.actor, unknown.automatic, risk.actor, risk.automatic) == (None, True, None, True)
    assert (gone.actor, gone.automatic) == ("agent-9", False)


def _observed_faults() -> set[str]:
    """Faults the rules name as literals: `Observation("pipe_burst", ...)` in detectors/."""
    found = set()
    for path in (ROOT / "detectors").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Observation" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                found.add(node.args[0].value)
    return found


def test_every_fault_a_detector_raises_has_a_name_in_both_languages():
    observed = _observed_faults()
    assert {"pipe_burst", "sensor_dropout"} <= observed  # the scan finds them
    raised = observed | CORRUPTS.keys() | RESIDENT_WORDS.keys() | {DEVICE_OFFLINE, LEARNED_FAULT, GROUP_FAULT,
                                                                  "entrapment", "out_of_service"}
    assert sorted(raised - FAULT_NAMES.keys()) == []
    # a Chinese name and an English one, neither the code copied over
    assert all(not zh.isascii() and en.isascii() and "_" not in en for zh, en in FAULT_NAMES.values())


def _literal_metrics() -> set[str]:
    """The metrics detectors' evidence names as literals: `Observation(..., metric="pressure_kpa")`."""
    found = set()
    for path in (ROOT / "detectors").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.keyword) and node.arg == "metric" and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                found.add(node.value.value)
    return found


def test_every_metric_and_detector_an_alarms_evidence_names_has_a_name_in_both_languages():
    literal = _literal_metrics()
    assert {"pressure_kpa", "site_reads_since"} <= literal  # the scan finds them
    contract = {name for specs in SPEC_BY_NAME.values() for name in specs}
    assert sorted((literal | contract | {"devices_offline"}) - METRIC_LABEL.keys()) == []
    engine = DetectorEngine()
    detectors = {rules.name for rules in engine._rules.values()} | {SensorHealth.name, Presence.name, learned.NAME,
                                                                     peers.NAME, "silence-group"}
    assert sorted(detectors - DETECTOR_LABEL.keys()) == []
    catalogues = Catalogues.load()
    zh, en = catalogues.gettext("zh-CN"), catalogues.gettext("en")
    for label in (*METRIC_LABEL.values(), *DETECTOR_LABEL.values()):
        assert zh(label) != label and en(label) == label, label


def test_an_alarms_evidence_reads_as_figures_with_their_units():
    import doctest

    import api.web.staff_format

    result = doctest.testmod(api.web.staff_format)
    assert result.attempted >= 2 and result.failed == 0
    from api.web.staff_format import evidence_facts
    assert evidence_facts({"metric": "tank_level_pct", "value": 12.34, "baseline": 20}).value == "12.34%"
    assert evidence_facts({"metric": "site_reads_since", "value": 40}) is None  # no unit known: the sentence says it
    assert evidence_facts(None) is None
