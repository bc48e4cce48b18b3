"""A complaint sent twice under one `Idempotency-Key` is filed once (tickets/submissions.py).

The case it is for: the server filed the complaint and committed, and its answer never reached the client (here a
proxy resets the connection the moment the answer starts, as a keep-alive race or a phone losing signal does). The
client cannot tell that from a complaint that was never taken, so it sends it again."""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from api.guard import ApiLimits
from simulators.residents import ComplaintDeliveryError, EmulatedComplaint, HttpComplaintSink

from .conftest import RESIDENT, Api, bearer, serve

URL = "/api/v1/complaints"


def _body(description: str = "3号楼电梯门关不上") -> dict[str, str]:
    return {"unit_id": "rs-b1-0101", "channel": "app", "description": description,
            "reported_at": datetime.now(UTC).isoformat()}


def _stored(url: str, description: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM complaints WHERE description = %s", (description,)).fetchone()
    assert row is not None
    return int(row[0])


def test_the_same_complaint_sent_twice_under_one_key_is_filed_once(client, tokens, estate_db_url):
    body, headers = _body(), bearer(tokens["resident"]) | {"Idempotency-Key": "6f1c0e52-retry"}
    first = client.post(URL, json=body, headers=headers)
    again = client.post(URL, json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()  # the same complaint, ticket and classification
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert _stored(estate_db_url, body["description"]) == 1
    # Without a key, a client that sends twice files twice: the key is what tells a retry from a second complaint.
    plain = bearer(tokens["resident"])
    assert client.post(URL, json=body, headers=plain).status_code == 201
    assert client.post(URL, json=body, headers=plain).status_code == 201
    assert _stored(estate_db_url, body["description"]) == 3


def test_a_key_reused_for_another_complaint_is_refused_and_a_bad_key_is_a_clear_422(client, tokens, estate_db_url):
    headers = bearer(tokens["resident"]) | {"Idempotency-Key": "k-1"}
    assert client.post(URL, json=_body("热水器没热水"), headers=headers).status_code == 201
    other = client.post(URL, json=_body("楼道灯坏了"), headers=headers)
    assert other.status_code == 422 and "already used for a different complaint" in other.json()["detail"]
    assert _stored(estate_db_url, "楼道灯坏了") == 0
    for bad in ("has space", "x" * 256):
        answer = client.post(URL, json=_body("楼道灯坏了"),
                             headers=bearer(tokens["resident"]) | {"Idempotency-Key": bad})
        assert answer.status_code == 422, (bad, answer.text)
    assert _stored(estate_db_url, "楼道灯坏了") == 0


def test_keys_belong_to_the_account_that_sends_them(client, tokens, estate_db_url):
    """An agent filing for the resident under the resident's key files a complaint of its own."""
    body, key = _body("地下车库漏水"), {"Idempotency-Key": "same-key"}
    mine = client.post(URL, json=body, headers=bearer(tokens["resident"]) | key)
    theirs = client.post(URL, json=body | {"resident_id": RESIDENT}, headers=bearer(tokens["agent"]) | key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["complaint_id"] != theirs.json()["complaint_id"]
    assert _stored(estate_db_url, "地下车库漏水") == 2


@pytest.fixture
def roomy_api(estate_db_url: str) -> Iterator[Api]:
    """A slot for each of the eight copies, so that all reach the idempotency check together, as when a phone's
    retries pile up, rather than some being refused 503 at capacity (which `live_api`'s two slots and 0.3 s wait
    do on a busy machine: tests/api/test_capacity.py covers that refusal)."""
    yield from serve(estate_db_url, pool_size=4, limits=ApiLimits(workers=8, wait_s=20, max_waiting=64))


def test_eight_copies_sent_at_once_file_one_complaint(roomy_api: Api, tokens, estate_db_url):
    body, headers = _body("水管爆了，楼道里全是水"), bearer(tokens["resident"]) | {"Idempotency-Key": "burst-1"}

    def send(_: int) -> httpx.Response:
        return roomy_api.http.post(URL, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(send, range(8)))
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.json()["complaint_id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 7
    assert _stored(estate_db_url, body["description"]) == 1


class _LosingProxy:
    """Forwards TCP to the API, except that on the first `lose` connections it resets the client's connection as
    soon as the API's answer starts, instead of passing the answer on."""

    def __init__(self, upstream_port: int, lose: int) -> None:
        self.upstream_port, self.lose, self.lost = upstream_port, lose, 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                losing = self.lost < self.lose
                self.lost += losing
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, losing), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket, reset_instead: bool) -> None:
        try:
            while data := source.recv(65536):
                if reset_instead:  # the answer is lost on the way: RST to the client, not the answer
                    target.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            end.close()

    def close(self) -> None:
        self._server.close()


def _complaint(description: str) -> EmulatedComplaint:
    return EmulatedComplaint(resident_id=RESIDENT, unit_id="rs-b1-0101", device_id="rs-b1-elev-a",
                             fault="door_fault", channel="app", description=description, lang="zh-CN",
                             reported_at=datetime.now(UTC))


@pytest.mark.parametrize("attempts", [1, 3])
def test_a_complaint_whose_answer_was_lost_is_sent_again_and_filed_once(live_api: Api, tokens, estate_db_url,
                                                                        attempts):
    proxy = _LosingProxy(int(live_api.url.rsplit(":", 1)[1]), lose=1)
    sink = HttpComplaintSink(proxy.url, tokens["agent"], attempts=attempts, backoff_s=0.05)
    description = f"电梯门反复弹开 ({attempts})"
    try:
        if attempts == 1:  # no retry: the client is told it failed, though the complaint was filed
            with pytest.raises(ComplaintDeliveryError, match="failed"):
                sink.submit(_complaint(description))
        else:
            sink.submit(_complaint(description))
    finally:
        sink.close()
        proxy.close()
    assert proxy.lost == 1 and sink.retried == (0 if attempts == 1 else 1)  # one lost answer, one more post
    assert _stored(estate_db_url, description) == 1
