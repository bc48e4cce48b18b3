"""Every documented setting changes what it says it changes. Each row sets one setting (as the environment would,
through `load_settings` and the composition root's `forewarn.configs`) and shows the behaviour that moves: quiet
hours move a notice's release, the time zone moves the working-day boundary of a deadline, an SLA limit moves a
deadline, the fold window decides folding, ingest's limits decide what is dead-lettered...

Settings whose effect needs a whole process (ports, data directory, the production checks) are listed in
`COVERED_ELSEWHERE` with the test that shows it; `test_every_readme_row_is_covered` keeps the two lists and the
README's settings table in step.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest

from detectors.alarm import AlarmState, Severity
from forewarn.configs import BrokerEndpoint, ingest_config, ticket_config
from forewarn.db import StorageMode
from forewarn.embedded import free_port
from forewarn.runtime import Platform, Role
from forewarn.settings import Settings, load_settings
from forewarn.wiring import RoleContext, scheduler_jobs
from ingest.decode import decode
from ingest.reading import Reading
from ingest.service import IngestService
from tests.tickets.conftest import make_alarm, staff  # noqa: F401 - `staff` is a fixture used below
from tickets import sla
from tickets.channels import InAppChannel, SmtpEmailChannel, WebhookChannel
from tickets.complaints import intake_complaint
from tickets.config import DEFAULT_CONFIG, TicketConfig
from tickets.flows import handle_alarm
from tickets.lifecycle import TicketEvent
from tickets.notices import release_time
from tickets.on_call import is_working_time
from tickets.progress import progress_sweep
from tickets.silence import warn_due_groups
from tickets.transitions import transition
from tickets.visits import Rating, record_return_visit
from tickets.warranty import warranty_links
from tickets.workorders import act

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)  # a working day, outside quiet hours
FRIDAY_EVENING_UTC = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)  # Saturday 04:00 in Shanghai
WATER = "rs-b1-water-high"


def settings(**values: str) -> Settings:
    """Settings as the environment gives them: FOREWARN_<NAME>=value."""
    return load_settings(environ={f"FOREWARN_{name.upper()}": value for name, value in values.items()})


def deadline(s: Settings, category: str, tier: str, limit: str, start: datetime = TUESDAY) -> datetime:
    config = ticket_config(s)
    policy = config.policy(category, tier)
    return sla.deadline(start, policy.respond if limit == "respond" else policy.resolve, config.tz)


def reading_at(s: Settings, offset_s: float) -> str:
    """What ingest makes of a reading stamped `offset_s` from now: 'stored' or the dead letter's reason."""
    config = ingest_config(s, BrokerEndpoint("127.0.0.1", 1883))
    now = datetime.now(UTC)
    payload = json.dumps({"v": 1, "ts": (now + timedelta(seconds=offset_s)).isoformat(), "seq": 1,
                          "data": {"pressure_kpa": 320.0}}).encode()
    found = decode(f"forewarn/v1/riverside/water/{WATER}/telemetry", payload, now=now,
                   max_past_s=config.max_past_s, max_future_s=config.max_future_s)
    return "stored" if isinstance(found, Reading) else found.reason  # type: ignore[union-attr]


@dataclass(frozen=True)
class Effect:
    setting: str  # the README row
    value: str  # what the row sets it to
    probe: Callable[[Settings], object]  # the behaviour, observed
    expected: Callable[[Settings], object] | None = None  # what the probe must give with the value set


def _at(hour: int, minute: int = 0) -> datetime:
    return TUESDAY.replace(hour=hour, minute=minute)


EFFECTS = [
    # A non-critical notice at 22:30 waits for the morning, unless quiet hours start later.
    Effect("QUIET_HOURS_START", "23:30", lambda s: release_time(_at(22, 30), False, ticket_config(s)),
           lambda s: _at(22, 30)),
    # At 08:00 a notice goes out at once, unless quiet hours last until 09:00.
    Effect("QUIET_HOURS_END", "09:00", lambda s: release_time(_at(8), False, ticket_config(s)),
           lambda s: _at(9)),
    # Working hours: at 08:45 an urgent ticket goes to the daytime owners, unless the day starts at 09:00 (then to the
    # on-call rota); at 17:15 likewise unless it ends at 17:00.
    Effect("WORK_HOURS_START", "09:00", lambda s: is_working_time(_at(8, 45), ticket_config(s)), lambda s: False),
    Effect("WORK_HOURS_END", "17:00", lambda s: is_working_time(_at(17, 15), ticket_config(s)), lambda s: False),
    # Friday 20:00 UTC is Saturday in Shanghai (no working time left that week); in UTC, four working hours are.
    Effect("TIMEZONE", "UTC", lambda s: deadline(s, "facility", "general", "resolve", FRIDAY_EVENING_UTC),
           lambda s: datetime(2026, 3, 11, 20, 0, tzinfo=UTC)),
    Effect("SLA_MAJOR_RESPOND", "10 min", lambda s: deadline(s, "facility", "major", "respond"),
           lambda s: TUESDAY + timedelta(minutes=10)),
    Effect("SLA_MAJOR_RESOLVE", "12 h", lambda s: deadline(s, "facility", "major", "resolve"),
           lambda s: TUESDAY + timedelta(hours=12)),
    Effect("SLA_GENERAL_RESPOND", "4 h", lambda s: deadline(s, "facility", "general", "respond"),
           lambda s: TUESDAY + timedelta(hours=4)),
    Effect("SLA_GENERAL_RESOLVE", "1 working day", lambda s: deadline(s, "facility", "general", "resolve"),
           lambda s: TUESDAY + timedelta(days=1)),
    Effect("SLA_COMPLEX_RESPOND", "2 working days", lambda s: deadline(s, "billing", "complex", "respond"),
           lambda s: TUESDAY + timedelta(days=2)),
    Effect("SLA_COMPLEX_RESOLVE", "3 working days", lambda s: deadline(s, "billing", "complex", "resolve"),
           lambda s: TUESDAY + timedelta(days=3)),
    # A reading two minutes old is stored by default, dead-lettered when the past limit is one minute.
    Effect("INGEST_MAX_PAST_S", "60", lambda s: reading_at(s, -120), lambda s: "clock_skew"),
    Effect("INGEST_MAX_FUTURE_S", "30", lambda s: reading_at(s, 60), lambda s: "clock_skew"),
    # What ingest is told (their behaviour: test_ingest_batches_follow_the_batch_size below, and the broker tests
    # named in COVERED_ELSEWHERE).
    Effect("MQTT_USERNAME", "ingest", lambda s: ingest_config(s, BrokerEndpoint("h", 1)).username),
    Effect("MQTT_PASSWORD", "pw", lambda s: ingest_config(s, BrokerEndpoint("h", 1)).password),
    Effect("MQTT_CA_FILE", "/etc/ca.pem", lambda s: ingest_config(s, BrokerEndpoint("h", 1)).tls_ca_file),
]


@pytest.mark.parametrize("effect", EFFECTS, ids=lambda e: e.setting)
def test_a_setting_changes_its_behaviour(effect: Effect) -> None:
    default, changed = settings(), settings(**{effect.setting: effect.value})
    assert effect.probe(default) != effect.probe(changed)
    expected = effect.expected(changed) if effect.expected else effect.value
    assert effect.probe(changed) == expected


# -- behaviours that need the database ------------------------------------------------------------------------


def test_fold_window_hours_decides_whether_a_late_complaint_folds(conn, staff):  # noqa: F811
    handle_alarm(conn, make_alarm(WATER, "supply_outage", at=TUESDAY), now=TUESDAY)
    resident = conn.execute("SELECT r.id, r.unit_id FROM residents r JOIN device_units du ON du.unit_id = r.unit_id "
                            "WHERE du.device_id = %s ORDER BY r.id LIMIT 2", (WATER,)).fetchall()
    folded = []
    for (resident_id, unit_id), config in zip(resident, (ticket_config(settings()),
                                                         ticket_config(settings(fold_window_hours="1"))),
                                              strict=True):
        # Reported two hours before the outage was detected, filed only now: the window decides.
        result = intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel="phone",
                                  description="家里没水了", lang="zh-CN", reported_at=TUESDAY - timedelta(hours=2),
                                  now=TUESDAY + timedelta(minutes=5), config=config)
        folded.append(result.folded)
    assert folded == [True, False]


def test_taxonomy_file_decides_a_complaints_category_and_department(conn, staff, tmp_path):  # noqa: F811
    packaged = (ROOT / "tickets" / "data" / "taxonomy.yaml").read_text(encoding="utf-8")
    path = tmp_path / "taxonomy.yaml"
    path.write_text(packaged.replace("strong: [快递,", "strong: [信报箱, 快递,"), encoding="utf-8")
    residents = conn.execute("SELECT id, unit_id FROM residents ORDER BY id LIMIT 2").fetchall()
    filed = []
    for (resident_id, unit_id), config in zip(residents, (ticket_config(settings()),
                                                          ticket_config(settings(taxonomy_file=str(path)))),
                                              strict=True):
        result = intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel="app",
                                  description="信報箱的鎖壞了", lang="zh-CN", reported_at=TUESDAY, now=TUESDAY,
                                  config=config)
        filed.append(conn.execute("SELECT category, department_id FROM tickets WHERE id = %s",
                                  (result.ticket_id,)).fetchone())
    assert filed == [("facility", "engineering"), ("parcel", "customer_service")]


def _resolved_preventive_ticket(conn: psycopg.Connection) -> int:
    opened = handle_alarm(conn, make_alarm(WATER, "pump_failure"), now=TUESDAY)
    transition(conn, opened.ticket_id, TicketEvent.ACKNOWLEDGE, actor="eng-1", now=TUESDAY + timedelta(minutes=5))
    transition(conn, opened.ticket_id, TicketEvent.ARRIVE, actor="eng-1", now=TUESDAY + timedelta(minutes=12))
    handle_alarm(conn, make_alarm(WATER, "pump_failure", AlarmState.CLEARED), now=TUESDAY + timedelta(minutes=40))
    transition(conn, opened.ticket_id, TicketEvent.RESOLVE, actor="eng-1", now=TUESDAY + timedelta(hours=1),
               root_cause="impeller replaced")
    return opened.ticket_id


@pytest.mark.parametrize(("days", "action"), [(None, "reopened"), ("2", "opened")])
def test_reopen_window_days_decides_whether_a_returning_fault_reopens(conn, staff, days, action):  # noqa: F811
    _resolved_preventive_ticket(conn)
    config = ticket_config(settings(**({"reopen_window_days": days} if days else {})))
    back = TUESDAY + timedelta(days=3)
    assert handle_alarm(conn, make_alarm(WATER, "pump_failure", at=back), now=back, config=config).action == action


@pytest.mark.parametrize(("hours", "in_time"), [(None, True), ("12", False)])
def test_return_visit_hours_decides_whether_a_visit_is_late(conn, staff, hours, in_time):  # noqa: F811
    ticket_id = _resolved_preventive_ticket(conn)
    config = ticket_config(settings(**({"return_visit_hours": hours} if hours else {})))
    visit = record_return_visit(conn, ticket_id, Rating(5, 5, 5, 5), by_user="agent-1",
                                now=TUESDAY + timedelta(hours=21), config=config)
    assert visit.within_48h is in_time


def test_a_shorter_major_sla_moves_the_stored_deadline(conn, staff):  # noqa: F811
    config = ticket_config(settings(sla_major_respond="5 min"))
    opened = handle_alarm(conn, make_alarm(WATER, "supply_outage"), now=TUESDAY, config=config)
    due = conn.execute("SELECT respond_due FROM tickets WHERE id = %s", (opened.ticket_id,)).fetchone()[0]
    assert due == TUESDAY + timedelta(minutes=5)


def _building_silent(conn: psycopg.Connection, count: int, *, config: TicketConfig, step_s: float = 1.0) -> bool:
    """`count` devices of building 2 report offline `step_s` apart; whether that made a building-level group."""
    devices = [d for (d,) in conn.execute("SELECT id FROM devices WHERE building_id = 'rs-b2' ORDER BY id")][:count]
    for i, device in enumerate(devices):
        at = TUESDAY + timedelta(seconds=i * step_s)
        offline = replace(make_alarm(device, "device_offline", severity=Severity.WARNING, at=at), since=at)
        handle_alarm(conn, offline, now=at, config=config)
    return conn.execute("SELECT count(*) FROM silence_groups").fetchone()[0] == 1


@pytest.mark.parametrize(("values", "silent", "grouped"), [
    ({}, 3, True),  # 3 of 8: the default count
    ({"silence_group_devices": "4"}, 3, False),  # 4 needed (and 50 % of 8 is 4 too)
    ({"silence_group_devices": "8"}, 4, True),  # 8 needed, but 50 % of the building's 8 is fewer: 4
    ({"silence_group_devices": "8", "silence_group_share": "1"}, 4, False),  # now all 8
])
def test_silence_group_devices_and_share_decide_how_many_silent_devices_are_one_event(  # noqa: F811
        conn, staff, values, silent, grouped):  # noqa: F811
    assert _building_silent(conn, silent, config=ticket_config(settings(**values))) is grouped


@pytest.mark.parametrize(("window", "grouped"), [(None, False), ("150", True)])
def test_silence_group_window_s_decides_which_silences_are_together(conn, staff, window, grouped):  # noqa: F811
    # Three devices a minute apart: the first and the last are two minutes apart, outside the default 90 s.
    config = ticket_config(settings(**({"silence_group_window_s": window} if window else {})))
    assert _building_silent(conn, 3, step_s=60.0, config=config) is grouped


@pytest.mark.parametrize(("hold", "warned"), [(None, False), ("30", True)])
def test_silence_hold_s_decides_when_a_silent_buildings_residents_are_warned(conn, staff, hold, warned):  # noqa: F811
    config = ticket_config(settings(**({"silence_hold_s": hold} if hold else {})))
    assert _building_silent(conn, 8, config=config)
    sent = warn_due_groups(conn, now=TUESDAY + timedelta(seconds=60), config=config)  # a minute into the silence
    assert (sent > 0) is warned


@pytest.mark.parametrize(("grace", "within_a_minute"), [(None, False), ("30", True), ("0", True)])
def test_offline_grace_s_decides_how_long_a_last_will_waits_for_a_reconnect(grace, within_a_minute):
    from detectors.engine import DetectorEngine
    from ingest.reading import DeviceKind

    chosen = settings(**({"offline_grace_s": grace} if grace else {}))
    engine = DetectorEngine(offline_grace_s=chosen.offline_grace_s)  # as forewarn.wiring builds the pipeline's
    engine.register_device("lift", DeviceKind.ELEVATOR, "s1", "b1")
    early = engine.presence("lift", online=False, ts=TUESDAY) + engine.tick(TUESDAY + timedelta(seconds=60))
    assert bool(early) is within_a_minute
    later = engine.tick(TUESDAY + timedelta(seconds=180))
    assert [a.fault for a in early + later] == ["device_offline"]  # raised once, sooner or later


def _pressure_complaints(conn: psycopg.Connection, count: int, step: timedelta, config: TicketConfig) -> int:
    """`count` households of building 1 complain of water pressure, `step` apart; the group-risk flags raised."""
    people = conn.execute("""SELECT DISTINCT ON (r.unit_id) r.id, r.unit_id FROM residents r
                             JOIN units u ON u.id = r.unit_id WHERE u.building_id = 'rs-b1'
                             ORDER BY r.unit_id, r.id LIMIT %s""", (count,)).fetchall()
    for i, (resident_id, unit_id) in enumerate(people):
        at = TUESDAY + step * i
        intake_complaint(conn, resident_id=resident_id, unit_id=unit_id, channel="app", description="水压太低",
                         lang="zh-CN", reported_at=at, now=at, config=config)
    row = conn.execute("SELECT count(*) FROM group_risks").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(("households", "flags"), [(None, 0), ("3", 1)])
def test_group_risk_households_decides_how_many_households_raise_a_flag(conn, staff, households, flags):  # noqa: F811
    config = ticket_config(settings(**({"group_risk_households": households} if households else {})))
    assert _pressure_complaints(conn, 3, timedelta(minutes=5), config) == flags


@pytest.mark.parametrize(("hours", "flags"), [(None, 0), ("48", 1)])
def test_group_risk_window_hours_decides_which_complaints_are_together(conn, staff, hours, flags):  # noqa: F811
    # Five households eight hours apart: 32 h from first to last, outside the default 24 h.
    config = ticket_config(settings(**({"group_risk_window_hours": hours} if hours else {})))
    assert _pressure_complaints(conn, 5, timedelta(hours=8), config) == flags


@pytest.mark.parametrize("minutes", [None, "10"])
def test_sensitive_respond_minutes_sets_a_sensitive_complaints_response_deadline(conn, staff, minutes):  # noqa: F811
    config = ticket_config(settings(**({"sensitive_respond_minutes": minutes} if minutes else {})))
    result = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                              description="楼道灯坏了，再不修我就找媒体曝光", lang="zh-CN", reported_at=TUESDAY,
                              now=TUESDAY, config=config)
    row = conn.execute("SELECT respond_due FROM tickets WHERE id = %s", (result.ticket_id,)).fetchone()
    assert row == (TUESDAY + timedelta(minutes=float(minutes or 30)),)


@pytest.mark.parametrize(("hours", "updates"), [(None, 0), ("12", 1)])
def test_progress_update_hours_sets_how_often_an_open_major_tickets_raiser_hears(conn, staff, hours, updates):  # noqa: F811
    config = ticket_config(settings(**({"progress_update_hours": hours} if hours else {})))
    intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app", description="水管爆漏",
                     lang="zh-CN", reported_at=TUESDAY, now=TUESDAY, config=config)
    assert progress_sweep(conn, now=TUESDAY + timedelta(hours=13), config=config) == updates


@pytest.mark.parametrize(("households", "waves"), [("51", 1), ("52", 0)])
def test_special_wave_households_decides_which_resolved_incident_opens_one_special_wave(
        estate_db_url, pool, staff, households, waves):  # noqa: F811
    """The high-zone booster of building 1 serves 52 households: over a threshold of 51 its resolved incident opens
    one special wave — even with two schedulers running the job at once, and again later; at 52 (not more than
    the threshold) none."""
    clock = [TUESDAY]
    with pool.connection() as conn:
        opened = handle_alarm(conn, make_alarm(WATER, "pump_failure", at=TUESDAY), now=TUESDAY)
        served = conn.execute("SELECT count(*) FROM device_units WHERE device_id = %s", (WATER,)).fetchone()
        assert served == (52,)
        (work_order,) = conn.execute("SELECT id FROM work_orders WHERE ticket_id = %s",
                                     (opened.ticket_id,)).fetchone()  # type: ignore[misc]
        handle_alarm(conn, make_alarm(WATER, "pump_failure", AlarmState.CLEARED, at=TUESDAY + timedelta(hours=1)),
                     now=TUESDAY + timedelta(hours=1))
        conn.commit()

    def jobs() -> Callable[[], object]:
        ctx = RoleContext(settings=settings(special_wave_households=households), pool=pool,
                          database_url=estate_db_url, mode=StorageMode(timescale=True, reason="test"),
                          broker=BrokerEndpoint("127.0.0.1", 1), clock=lambda: clock[0], tickets=DEFAULT_CONFIG)
        (job,) = [j for j in scheduler_jobs(ctx, {"in_app": InAppChannel()}) if j.name == "survey-special-waves"]
        return job.run

    first, second = jobs(), jobs()  # two scheduler processes' jobs
    first()  # the ticket is still open: no wave yet
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM survey_waves").fetchone() == (0,)
        for step, minutes in ((TicketEvent.ACKNOWLEDGE, 70), (TicketEvent.ARRIVE, 80), (TicketEvent.RESOLVE, 90)):
            act(conn, work_order, step, user_id="eng-1", now=TUESDAY + timedelta(minutes=minutes))
        conn.commit()
    clock[0] = TUESDAY + timedelta(hours=2)
    errors: list[BaseException] = []

    def guarded(run: Callable[[], object]) -> Callable[[], None]:
        def go() -> None:
            try:
                run()
            except BaseException as exc:  # noqa: BLE001 - shown by the assert below
                errors.append(exc)
        return go

    both = [threading.Thread(target=guarded(run)) for run in (first, second)]
    for thread in both:
        thread.start()
    for thread in both:
        thread.join()
    assert errors == []
    first()  # a retry, later
    with pool.connection() as conn:
        rows = conn.execute("SELECT kind, incident_id, households, opened_by FROM survey_waves").fetchall()
        assert rows == [("special", opened.incident_id, 52, "scheduler")] * waves
        if waves:  # its sample follows the special-wave rules: 10 % of the households the incident hit, rounded up
            assert conn.execute("SELECT count(*) FROM survey_wave_sample").fetchone() == (6,)


@pytest.mark.parametrize(("days", "linked"), [(None, False), ("120", True)])
def test_warranty_days_decides_whether_a_repeat_links_to_the_repair(conn, staff, days, linked):  # noqa: F811
    config = ticket_config(settings(**({"warranty_days": days} if days else {})))
    first = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                             description="楼道的灯坏了", lang="zh-CN", reported_at=TUESDAY, now=TUESDAY,
                             config=config).ticket_id
    for event in (TicketEvent.ACKNOWLEDGE, TicketEvent.RESOLVE):
        transition(conn, first, event, actor="eng-1", now=TUESDAY + timedelta(hours=1), config=config)
    later = TUESDAY + timedelta(days=100)
    again = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                             description="楼道的灯坏了", lang="zh-CN", reported_at=later, now=later, config=config)
    assert (warranty_links(conn, again.ticket_id).of == first) is linked


@pytest.mark.parametrize(("hours", "joined"), [(None, False), ("120", True), ("0", False)])
def test_join_window_hours_decides_whether_the_household_joins_its_open_ticket(conn, staff, hours,  # noqa: F811
                                                                               joined):
    config = ticket_config(settings(**({"join_window_hours": hours} if hours else {})))
    first = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="app",
                             description="楼道的灯坏了", lang="zh-CN", reported_at=TUESDAY, now=TUESDAY, config=config)
    later = TUESDAY + timedelta(hours=100)  # past the default 72 h, within 120 h
    again = intake_complaint(conn, resident_id="r-00001", unit_id="rs-b1-0101", channel="hotline",
                             description="楼道的灯坏了", lang="zh-CN", reported_at=later, now=later, config=config)
    assert (again.ticket_id == first.ticket_id) is joined


# -- behaviours that need the running platform -----------------------------------------------------------------


def test_the_platform_uses_its_database_broker_pool_api_and_channels(estate_db_url, mosquitto, tmp_path):
    api_port = free_port()
    s = settings(database_url=estate_db_url, mqtt_url=mosquitto.url, api_host="127.0.0.1", api_port=str(api_port),
                 data_dir=str(tmp_path), db_pool_size="3", webhook_url="http://127.0.0.1:9/hook",
                 smtp_host="127.0.0.1", smtp_port="2525", smtp_sender="desk@example.com", secret_key="k" * 20)
    platform = Platform(s, roles=frozenset({Role.SCHEDULER, Role.API}))
    platform.start()
    try:
        assert platform.pool.max_size == 3
        assert (platform.broker.host, platform.broker.port) == ("127.0.0.1", mosquitto.port)
        assert httpx.get(f"http://127.0.0.1:{api_port}/healthz", timeout=10).status_code == 200
        assert platform.scheduler is not None
        channels = platform.scheduler.channels
        webhook, email = channels["webhook"], channels["email"]
        assert isinstance(webhook, WebhookChannel) and isinstance(email, SmtpEmailChannel)
        assert webhook.url == "http://127.0.0.1:9/hook"
        assert (email.host, email.port, email.sender) == ("127.0.0.1", 2525, "desk@example.com")
    finally:
        platform.stop()
    without = Platform(settings(database_url=estate_db_url, mqtt_url=mosquitto.url, data_dir=str(tmp_path)),
                       roles=frozenset({Role.SCHEDULER}))
    without.start()
    try:
        assert without.scheduler is not None and set(without.scheduler.channels) == {"in_app", "mqtt"}
    finally:
        without.stop()


def _publish(port: int, count: int) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="settings-effect", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    start = datetime.now(UTC) - timedelta(seconds=count)
    infos = [client.publish(f"forewarn/v1/riverside/water/{WATER}/telemetry", json.dumps(
        {"v": 1, "ts": (start + timedelta(seconds=i)).isoformat(), "seq": i + 1,
         "data": {"pressure_kpa": 320.0, "flow_lpm": 40.0}}), qos=1) for i in range(count)]
    for info in infos:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()


@pytest.mark.parametrize(("batch_size", "batches"), [(None, 1), ("10", 4)])
def test_ingest_batches_follow_the_batch_size(estate_db_url, mosquitto, batch_size, batches):
    # A 3 s flush (FOREWARN_INGEST_FLUSH_MS) lets 40 readings published at once wait for one batch, unless the
    # batch size cuts them into batches of 10.
    values = {"ingest_flush_ms": "3000", **({"ingest_batch_size": batch_size} if batch_size else {})}
    service = IngestService(ingest_config(settings(**values), BrokerEndpoint("127.0.0.1", mosquitto.port)),
                            estate_db_url)
    service.start()
    try:
        _publish(mosquitto.port, 40)
        deadline = time.monotonic() + 30
        while service.stats.stored < 40 and time.monotonic() < deadline:
            time.sleep(0.1)  # polling a counter: the service has no event for "stored"
        assert (service.stats.stored, service.stats.batches) == (40, batches)
    finally:
        service.stop()


def test_log_level_sets_the_level_of_the_commands(tmp_path):
    code = ("import logging, sys; from forewarn.cli import app, _mount_commands; _mount_commands(); "
            "sys.argv = ['forewarn', 'estate', 'check', sys.argv[1]]\n"
            "try:\n    app(standalone_mode=False)\nfinally:\n    print(logging.getLogger().level)")
    levels = []
    for level in (None, "ERROR"):
        env = {"PATH": "/usr/bin:/bin", **({"FOREWARN_LOG_LEVEL": level} if level else {})}
        out = subprocess.run([sys.executable, "-c", code, str(ROOT / "forewarn/data/demo-estate.yaml")], env=env,
                             cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
        levels.append(int(out.stdout.strip().splitlines()[-1]))
    assert levels == [logging.INFO, logging.ERROR]


# -- the README's table, row by row -------------------------------------------------------------------------------

COVERED_HERE = {
    "FOLD_WINDOW_HOURS": "test_fold_window_hours_decides_whether_a_late_complaint_folds",
    "REOPEN_WINDOW_DAYS": "test_reopen_window_days_decides_whether_a_returning_fault_reopens",
    "RETURN_VISIT_HOURS": "test_return_visit_hours_decides_whether_a_visit_is_late",
    "DATABASE_URL": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "MQTT_URL": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "DB_POOL_SIZE": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "API_HOST": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "API_PORT": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "WEBHOOK_URL": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "SMTP_HOST": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "SMTP_PORT": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "SMTP_SENDER": "test_the_platform_uses_its_database_broker_pool_api_and_channels",
    "INGEST_BATCH_SIZE": "test_ingest_batches_follow_the_batch_size",
    "INGEST_FLUSH_MS": "test_ingest_batches_follow_the_batch_size",
    "LOG_LEVEL": "test_log_level_sets_the_level_of_the_commands",
    "TAXONOMY_FILE": "test_taxonomy_file_decides_a_complaints_category_and_department",
    "SILENCE_GROUP_DEVICES": "test_silence_group_devices_and_share_decide_how_many_silent_devices_are_one_event",
    "SILENCE_GROUP_SHARE": "test_silence_group_devices_and_share_decide_how_many_silent_devices_are_one_event",
    "SILENCE_GROUP_WINDOW_S": "test_silence_group_window_s_decides_which_silences_are_together",
    "SILENCE_HOLD_S": "test_silence_hold_s_decides_when_a_silent_buildings_residents_are_warned",
    "OFFLINE_GRACE_S": "test_offline_grace_s_decides_how_long_a_last_will_waits_for_a_reconnect",
    "GROUP_RISK_HOUSEHOLDS": "test_group_risk_households_decides_how_many_households_raise_a_flag",
    "GROUP_RISK_WINDOW_HOURS": "test_group_risk_window_hours_decides_which_complaints_are_together",
    "SENSITIVE_RESPOND_MINUTES": "test_sensitive_respond_minutes_sets_a_sensitive_complaints_response_deadline",
    "PROGRESS_UPDATE_HOURS": "test_progress_update_hours_sets_how_often_an_open_major_tickets_raiser_hears",
    "WARRANTY_DAYS": "test_warranty_days_decides_whether_a_repeat_links_to_the_repair",
    "API_WORKERS": "test_api_settings_become_the_api_limits",
    "JOIN_WINDOW_HOURS": "test_join_window_hours_decides_whether_the_household_joins_its_open_ticket",
    "SPECIAL_WAVE_HOUSEHOLDS":
        "test_special_wave_households_decides_which_resolved_incident_opens_one_special_wave",
}
COVERED_ELSEWHERE = {
    "MODE": "tests/forewarn/test_settings_doc.py::test_production_refuses_the_placeholder_secret",
    "SECRET_KEY": "tests/forewarn/test_settings_doc.py::test_production_refuses_the_placeholder_secret",
    "DATA_DIR": "tests/forewarn/test_demo.py::test_the_demo_shows_a_preventive_ticket_and_notices_within_two_minutes",
    "DB_MODE": "tests/forewarn/test_demo.py::test_the_demo_shows_a_preventive_ticket_and_notices_within_two_minutes",
    "EMBEDDED_DB_PORT":
        "tests/forewarn/test_demo.py::test_the_demo_shows_a_preventive_ticket_and_notices_within_two_minutes",
    "EMBEDDED_MQTT_PORT":
        "tests/forewarn/test_demo.py::test_the_demo_shows_a_preventive_ticket_and_notices_within_two_minutes",
    "MEDIATION_REVIEW_DAYS":
        "tests/tickets/test_mediation.py::test_a_second_mediation_has_its_own_clock_and_the_setting_sets_it",
    "RETENTION_DAYS": "tests/forewarn/test_retention.py::test_plain_pruning_drops_only_expired_readings",
    "COMPRESS_AFTER_DAYS": "tests/forewarn/test_retention.py::test_the_policies_follow_the_settings",
    "DEAD_LETTER_RETENTION_DAYS":
        "tests/forewarn/test_retention.py::test_dead_letters_are_pruned_by_their_retention_age",
    # The web settings reach the pages as a `WebConfig` (test_web_settings_become_the_pages_config, below); these
    # tests show each of its fields changing what a person sees.
    "SESSION_DAYS":
        "tests/web/test_signin.py::test_password_sign_in_sets_an_httponly_lax_session_cookie_and_goes_to_next",
    "LOGIN_MAX_FAILURES": "tests/web/test_signin.py::test_wrong_codes_are_throttled_per_account_with_the_wait_shown",
    "LOGIN_WINDOW_MINUTES": "tests/web/test_signin.py::test_wrong_codes_are_throttled_per_account_with_the_wait_shown",
    "LOGIN_MAX_CODE_SENDS":
        "tests/web/test_signin.py::test_asking_for_codes_past_the_limit_gets_the_wait_and_sends_nothing",
    "SIGNUP_CODE_HOURS": "tests/web/test_accounts_cli.py::"
        "test_invite_prints_each_residents_code_and_link_when_no_gateway_is_configured",
    "PUBLIC_URL": "tests/web/test_accounts_cli.py::"
        "test_invite_prints_each_residents_code_and_link_when_no_gateway_is_configured",
    # The API's limits reach it as `ApiLimits` (test_api_settings_become_the_api_limits, below).
    "API_TOKEN_DAYS": "tests/api/test_tokens.py::test_a_token_expires_after_its_lifetime",
    "API_WAIT_MS": "tests/api/test_capacity.py::test_a_held_pool_is_a_503_with_retry_after_within_a_second",
    "API_MAX_WAITING":
        "tests/api/test_capacity.py::test_many_concurrent_clients_get_answers_or_a_quick_503_never_a_hang",
    "API_MAX_BODY_BYTES": "tests/api/test_input.py::test_a_streamed_body_past_the_limit_is_refused",
    "GC_FULL_SECONDS": "tests/forewarn/test_heap.py::test_gc_full_seconds_sets_the_clock_or_keeps_pythons_policy",
    "INGEST_WORKER_ID": "tests/forewarn/test_site_workers.py::"
        "test_a_killed_workers_site_moves_within_30_s_with_no_reading_lost_or_doubled_and_its_alarm_cleared",
    "EMBEDDED_MQTT_PLATFORM_PORT": "tests/forewarn/test_broker_auth.py::"
        "test_the_embedded_broker_in_production_refuses_anonymous_clients_and_serves_devices",
    "REVIEW_DIGEST_AT":
        "tests/review/test_review_settings.py::test_the_digest_hour_setting_decides_when_the_digest_goes",
    "REVIEW_SATISFACTION_TARGET": "tests/review/test_review_settings.py::test_the_targets_come_from_the_settings",
    "REVIEW_CLOSED_LOOP_TARGET": "tests/review/test_review_settings.py::test_the_targets_come_from_the_settings",
}


def test_every_readme_row_is_covered():
    documented = set(re.findall(r"^\| `FOREWARN_([A-Z_0-9]+)` \|", (ROOT / "README.md").read_text(), re.M))
    in_table = {e.setting for e in EFFECTS}
    assert documented == in_table | set(COVERED_HERE) | set(COVERED_ELSEWHERE), "a README row has no test here"
    here = (ROOT / "tests/forewarn/test_settings_effect.py").read_text()
    for name in COVERED_HERE.values():
        assert f"def {name}(" in here, name
    for ref in COVERED_ELSEWHERE.values():
        path, name = ref.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), ref


def test_web_settings_become_the_pages_config():
    from forewarn.web_wiring import web_config

    default = web_config(settings())
    changed = web_config(settings(session_days="3", signup_code_hours="24", login_max_failures="2",
                                  login_window_minutes="60", login_max_code_sends="3",
                                  public_url="https://estate.example/"))
    assert (default.session_days, changed.session_days) == (14, 3)
    assert (default.signup_code_hours, changed.signup_code_hours) == (72, 24)
    assert (default.max_failures, changed.max_failures) == (5, 2)
    assert (default.failure_window_minutes, changed.failure_window_minutes) == (15, 60)
    assert (default.max_code_sends, changed.max_code_sends) == (5, 3)
    assert default.public_url == "http://127.0.0.1:8000" and changed.public_url == "https://estate.example"


def test_api_settings_become_the_api_limits():
    from forewarn.wiring import api_limits

    default, changed = api_limits(settings()), api_limits(settings(api_wait_ms="200", api_max_waiting="7",
                                                                    api_max_body_bytes="4096", db_pool_size="3"))
    assert (default.wait_s, changed.wait_s) == (0.5, 0.2)
    assert (default.max_waiting, changed.max_waiting) == (128, 7)
    assert (default.max_body_bytes, changed.max_body_bytes) == (65_536, 4096)
    assert (default.workers, changed.workers) == (4, 3)  # never more workers than pooled connections
    assert api_limits(settings(api_workers="6")).workers == 6
