"""Emulated residents: who complains, when, in which words, and how the complaint reaches the platform."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest

from simulators.faults import FAULTS, FaultWindow
from simulators.labels import read_labels
from simulators.residents import ComplaintDeliveryError, HttpComplaintSink, plan_complaints
from simulators.runner import run_scenario
from simulators.scenario import load_scenario

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SH)
CJK = re.compile(r"[\u4e00-\u9fff]")
DEVICE_FOR = {"elevator": "rs-b1-elev-a", "access_door": "rs-b1-door-lobby", "water": "rs-b1-water-high"}


def _window(fault: str, hours: float = 12) -> FaultWindow:
    kind = sorted(k.value for k in FAULTS[fault].kinds)[-1]
    return FaultWindow(DEVICE_FOR[kind], fault, T0, T0 + timedelta(hours=hours))


def test_only_faults_residents_notice_bring_complaints(demo_estate):
    for fault, spec in FAULTS.items():
        planned = plan_complaints([_window(fault, hours=7 * 24)], demo_estate, seed=1)
        assert bool(planned) is spec.resident_visible, fault


@pytest.mark.parametrize(("fault", "low", "high"), [
    ("entrapment", timedelta(minutes=1), timedelta(minutes=8)),  # people trapped call within minutes
    ("pump_failure", timedelta(hours=1), timedelta(hours=4)),  # low pressure upstairs: hours
])
def test_complaints_come_after_a_realistic_delay(demo_estate, fault, low, high):
    window = _window(fault)
    for seed in range(5):
        for complaint in plan_complaints([window], demo_estate, seed=seed):
            assert low <= complaint.reported_at - window.visible_at <= high


def test_complaints_are_written_like_real_ones(demo_estate):
    windows = [_window(f) for f in ("entrapment", "supply_outage", "reader_offline", "pipe_burst")]
    planned = [c for seed in range(6) for c in plan_complaints(windows, demo_estate, seed=seed)]
    residents = {r.id: r for r in demo_estate.residents}
    assert {c.lang for c in planned} == {"zh-CN", "en"}
    for complaint in planned:
        resident = residents[complaint.resident_id]
        assert complaint.unit_id == resident.unit_id
        assert complaint.unit_id in demo_estate.device(complaint.device_id).serves
        assert complaint.lang == resident.language.value
        assert bool(CJK.search(complaint.description)) is (complaint.lang == "zh-CN"), complaint.description
        assert "{" not in complaint.description  # every placeholder was filled
        assert complaint.channel in ("app", "phone", "wechat")
        body = complaint.api_body()
        assert body["unit_id"] == complaint.unit_id and datetime.fromisoformat(body["reported_at"]).utcoffset()


def test_a_fault_over_before_anyone_gets_round_to_it_brings_no_complaint(demo_estate):
    short = FaultWindow("rs-b1-water-high", "pump_failure", T0, T0 + timedelta(minutes=20))
    assert plan_complaints([short], demo_estate, seed=3) == []


def test_same_seed_same_complaints(demo_estate):
    windows = [_window("entrapment"), _window("supply_outage")]
    assert plan_complaints(windows, demo_estate, seed=9) == plan_complaints(windows, demo_estate, seed=9)
    assert plan_complaints(windows, demo_estate, seed=9) != plan_complaints(windows, demo_estate, seed=10)


class _Api:
    """A tiny HTTP server standing in for `POST /api/v1/complaints`: records requests, answers `status`."""

    def __init__(self, status: int) -> None:
        self.requests: list[tuple[str, dict, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append((self.path, body, self.headers.get("Authorization", "")))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"detail": "rejected"}' if status >= 400 else b'{"id": 1}')

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_http_sink_posts_each_complaint_with_the_token(demo_estate):
    api = _Api(201)
    try:
        sink = HttpComplaintSink(api.url + "/", "tok-123")
        [complaint, *_] = plan_complaints([_window("entrapment")], demo_estate, seed=1)
        sink.submit(complaint)
        sink.close()
    finally:
        api.close()
    assert api.requests == [("/api/v1/complaints", complaint.api_body(), "Bearer tok-123")]


def test_a_refused_complaint_is_reported_and_the_run_goes_on(scenario, mosquitto, tmp_path):
    api = _Api(422)
    faults = "[{device: rs-b1-elev-a, fault: entrapment, start: 1m, duration: 30m}]"
    play = scenario(duration="40m", faults=faults, devices="[rs-b1-elev-a]")
    sink = HttpComplaintSink(api.url, "tok")
    try:
        with pytest.raises(ComplaintDeliveryError, match="422"):
            sink.submit(plan_complaints([_window("entrapment")], play.estate, seed=1)[0])
        summary = run_scenario(play, broker_host="127.0.0.1", broker_port=mosquitto.port, start=T0,
                               labels_path=tmp_path / "l.jsonl", complaint_sink=sink)
    finally:
        sink.close()
        api.close()
    complaints = [r for r in read_labels(tmp_path / "l.jsonl") if r["record"] == "complaint"]
    assert summary.complaints_failed == summary.complaints_planned == len(complaints) > 0
    assert summary.complaints_submitted == 0 and {r["delivered"] for r in complaints} == {False}
    assert not summary.stopped and summary.messages > 400


def test_delays_and_the_share_who_complain_are_configurable(demo_estate, write_scenario):
    window = _window("supply_outage", hours=24)
    normal = plan_complaints([window], demo_estate, seed=2)
    slower = plan_complaints([window], demo_estate, seed=2, delay_scale=3.0)
    more = plan_complaints([window], demo_estate, seed=2, share_scale=4.0)
    assert [c.resident_id for c in slower] == [c.resident_id for c in normal]
    for a, b in zip(normal, slower, strict=True):
        assert (b.reported_at - window.visible_at) / (a.reported_at - window.visible_at) == pytest.approx(3.0)
    assert len(more) > len(normal)
    play = load_scenario(write_scenario("estate: demo\nduration: 1h\nresidents: {delay_scale: 0.5, share_scale: 2}\n"))
    assert (play.residents.delay_scale, play.residents.share_scale) == (0.5, 2.0)
