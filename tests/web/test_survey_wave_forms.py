"""The forms of the manager's survey pages, through the app (FastAPI's TestClient) on the demo estate: opening a
wave (and the ≥ 10 % rule said in zh-CN and English), closing it, topping up a building short of its share, sending
the online links, and planning an improvement action from a cell of the priority matrix. Each goes through and
redirects, shows what was wrong (422), refuses a form without its CSRF token (403), and answers 403 to a resident
and to an engineer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from api.auth import Role, create_user, ensure_resident_user
from api.web.i18n import Catalogues
from api.web.survey_wave_forms import error_box
from tests.web.clients import form_token, signed_in_client
from tickets.survey_links import answer_by_link, invite_online
from tickets.survey_sampling import SampleRefused, sample_size
from tickets.survey_template import ITEM_KEYS
from tickets.survey_waves import close_wave, create_wave, record_response


@pytest.fixture
def app_pool(estate_db_url: str) -> Iterator[ConnectionPool]:
    pool = ConnectionPool(estate_db_url, min_size=1, max_size=4, open=True)
    with pool.connection() as conn:
        create_user(conn, user_id="mgr-waves", name="Wave manager", role=Role.MANAGER)
        create_user(conn, user_id="eng-waves", name="Wave engineer", role=Role.ENGINEER, department_id="engineering")
        ensure_resident_user(conn, "r-00001")
        conn.commit()
    yield pool
    pool.close()






def _wave(pool: ConnectionPool, seed: int = 5) -> int:
    with pool.connection() as conn:
        wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=seed, by="mgr",
                           now=datetime.now(UTC) - timedelta(hours=1))
        conn.commit()
        return wave.id


def _refused_to_others(pool: ConnectionPool, path: str, data: dict[str, str]) -> None:
    """A resident and an engineer, each with a good CSRF token of their own, get 403 and change nothing."""
    for user_id, own_page in ((_resident(pool), "/resident"), ("eng-waves", "/engineer/work-orders")):
        with signed_in_client(pool, user_id) as other:
            token = form_token(other, own_page)
            refused = other.post(path + "?lang=en", data=data | {"csrf_token": token})
            assert refused.status_code == 403, (user_id, path)
            assert "This page is not open to your account." in refused.text  # the role, not the token


def _resident(pool: ConnectionPool) -> str:
    with pool.connection() as conn:
        return ensure_resident_user(conn, "r-00001")


def _incident(pool: ConnectionPool, device_id: str) -> int:
    """An incident (over) on the device, as the alarm pipeline records one."""
    at = datetime.now(UTC) - timedelta(days=1)
    with pool.connection() as conn:
        row = conn.execute("""INSERT INTO incidents (device_id, fault, status, severity, since, detected_at,
                                  updated_at, recovered_at)
                              VALUES (%s, 'pump_failure', 'recovered', 'critical', %s, %s, %s, %s) RETURNING id""",
                           (device_id, at, at, at, at + timedelta(hours=3))).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0])


def _waves(pool: ConnectionPool) -> int:
    with pool.connection() as conn:
        return int(conn.execute("SELECT count(*) FROM survey_waves").fetchone()[0])  # type: ignore[index]


def test_handbook_001s_example_is_refused_with_its_numbers_in_both_languages():
    with pytest.raises(SampleRefused) as refused:
        sample_size(1000, 99)
    error = error_box(refused.value, "unused")
    catalogues = Catalogues.load()
    assert catalogues.gettext("en")(error["id"], **error["args"]) == (
        "A site of 1,000 households cannot open a wave of 99: the sample must be at least 10 % of the households "
        "(100).")
    assert catalogues.gettext("zh-CN")(error["id"], **error["args"]) == (
        "1,000 户的项目不能开启 99 户的调查：样本至少应为住户的 10 %（100 户）。")


def test_a_manager_opens_a_wave_and_the_10_percent_rule_is_said_in_his_language(app_pool):
    form = {"site_id": "riverside", "kind": "routine", "sample": "0.10", "seed": "7", "incident": "",
            "reason": "quarterly"}
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, "/manager/surveys")
        assert manager.post("/manager/surveys", data=form | {"csrf_token": "forged"}).status_code == 403
        assert _waves(app_pool) == 0
        small = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token, "sample": "29"})
        assert small.status_code == 422
        assert ("A site of 300 households cannot open a wave of 29: the sample must be at least 10 % of the "
                "households (30).") in small.text
        assert 'id="sample" name="sample" value="29"' in small.text  # the form as it was filled in
        zh = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token, "sample": "0.05"})
        assert zh.status_code == 422
        assert "300 户的项目不能开启 15 户的调查：样本至少应为住户的 10 %（30 户）。" in zh.text
        for sample in ("a tenth", "nan", "inf", "0"):
            words = manager.post("/manager/surveys", data=form | {"csrf_token": token, "sample": sample})
            assert words.status_code == 422 and "样本应为比例（如 0.10）或住户数。" in words.text, sample
        huge = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token, "seed": str(2**64)})
        assert huge.status_code == 422 and "The seed must be a whole number." in huge.text
        stray = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token, "incident": "1"})
        assert stray.status_code == 422 and "Only a special wave follows an incident" in stray.text
        assert _waves(app_pool) == 0

        opened = manager.post("/manager/surveys", data=form | {"csrf_token": token})
        assert opened.status_code == 303
        with app_pool.connection() as conn:
            wave_id, kind, seed, households, reason, by = conn.execute(
                "SELECT id, kind, seed, households, reason, opened_by FROM survey_waves").fetchone()  # type: ignore[misc]
            sampled = conn.execute("SELECT count(*) FROM survey_wave_sample WHERE wave_id = %s",
                                   (wave_id,)).fetchone()[0]  # type: ignore[index]
        assert (kind, seed, households, reason, by, sampled) == ("routine", 7, 300, "quarterly", "mgr-waves", 30)
        assert opened.headers["location"] == f"/manager/surveys?opened={wave_id}#wave-{wave_id}"
        listing = manager.get(opened.headers["location"].split("#")[0], headers={"Accept-Language": "en"})
        assert f"Survey wave #{wave_id} opened." in listing.text
        assert re.search(rf'<tr data-wave="{wave_id}"><td><a id="wave-{wave_id}".*?<td class="sampled">30 / 300</td>',
                         listing.text, re.S)
    _refused_to_others(app_pool, "/manager/surveys", form)
    assert _waves(app_pool) == 1


def test_a_special_wave_for_an_unknown_incident_is_refused_in_words(app_pool):
    form = {"site_id": "riverside", "kind": "special", "sample": "0.10", "seed": "0", "incident": "999999",
            "reason": "停水之后"}
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, "/manager/surveys")
        zh = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token})
        assert zh.status_code == 422 and "没有编号为 999999 的事件：请核对编号。" in zh.text
        assert 'id="error-detail"' not in zh.text  # no English particulars folded under the headline
        assert 'name="incident" value="999999"' in zh.text and 'value="停水之后"' in zh.text  # the form as filled in
        en = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token})
        assert en.status_code == 422 and "There is no incident 999999: check its number." in en.text
    assert _waves(app_pool) == 0


def test_an_incident_on_a_wave_that_is_not_special_is_refused_in_words(app_pool):
    incident = _incident(app_pool, "rs-b1-water-high")
    form = {"site_id": "riverside", "kind": "routine", "sample": "0.10", "seed": "0", "incident": str(incident),
            "reason": "季度调查"}
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, "/manager/surveys")
        zh = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token})
        assert zh.status_code == 422 and "只有专项调查可以关联事件：请把类型选为“专项”，或不填事件编号。" in zh.text
        assert 'id="error-detail"' not in zh.text and "--kind" not in zh.text  # no command-line English
        assert f'name="incident" value="{incident}"' in zh.text and 'value="季度调查"' in zh.text
        assert '<option value="routine" selected>' in zh.text  # the kind as chosen, to be changed
        en = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token})
        assert en.status_code == 422
        assert ("Only a special wave follows an incident: choose the kind Special, or leave the incident empty."
                in en.text)
    assert _waves(app_pool) == 0


def test_a_second_special_wave_for_an_incident_is_refused_naming_the_first(app_pool):
    incident = _incident(app_pool, "rs-b1-water-high")
    form = {"site_id": "riverside", "kind": "special", "sample": "0.10", "seed": "0", "incident": str(incident),
            "reason": "停水之后"}
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, "/manager/surveys")
        first = manager.post("/manager/surveys", data=form | {"csrf_token": token})
        assert first.status_code == 303
        wave_id = int(first.headers["location"].split("opened=")[1].split("#")[0])
        zh = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token, "seed": "9"})
        assert zh.status_code == 422
        assert f"事件 {incident} 已有专项调查批次 #{wave_id}：每个事件只开一次专项调查。" in zh.text
        assert 'id="error-detail"' not in zh.text
        assert f'name="incident" value="{incident}"' in zh.text and 'id="seed" name="seed" value="9"' in zh.text
        en = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token})
        assert en.status_code == 422
        assert (f"Incident {incident} already has its special wave, #{wave_id}: one special wave per incident."
                in en.text)
    assert _waves(app_pool) == 1


def test_a_special_wave_on_a_site_the_incident_did_not_hit_is_refused_in_words(app_pool):
    elsewhere = _incident(app_pool, "lv-b1-water-high")  # at Lakeview, asked of Riverside
    with app_pool.connection() as conn:  # a Riverside meter that serves no household
        conn.execute("INSERT INTO devices (id, kind, site_id, location) VALUES ('rs-meter', 'water', 'riverside', "
                     "'总表 meter')")
        conn.commit()
    nobody = _incident(app_pool, "rs-meter")
    form = {"site_id": "riverside", "kind": "special", "sample": "0.10", "seed": "0", "reason": "停水之后"}
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, "/manager/surveys")
        zh = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token, "incident": str(elsewhere)})
        assert zh.status_code == 422 and (f"事件 {elsewhere} 发生在 湖景苑 Lakeview Court，不在 滨江花园 Riverside "
                                          "Gardens：请选择事件所在的小区。") in zh.text
        assert 'id="error-detail"' not in zh.text and "hit no household" not in zh.text
        assert f'name="incident" value="{elsewhere}"' in zh.text and 'value="停水之后"' in zh.text
        en = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token, "incident": str(elsewhere)})
        assert en.status_code == 422 and (f"Incident {elsewhere} happened at 湖景苑 Lakeview Court, not 滨江花园 "
                                          "Riverside Gardens: choose its site.") in en.text
        none = manager.post("/manager/surveys?lang=zh-CN", data=form | {"csrf_token": token, "incident": str(nobody)})
        assert none.status_code == 422 and (f"事件 {nobody} 没有影响 滨江花园 Riverside Gardens 的任何住户："
                                            "其设备不服务该小区的住户，没有可调查的对象。") in none.text
        en = manager.post("/manager/surveys?lang=en", data=form | {"csrf_token": token, "incident": str(nobody)})
        assert en.status_code == 422 and (f"Incident {nobody} hit no household of 滨江花园 Riverside Gardens: its "
                                          "device serves none of them, so there is nobody to ask.") in en.text
    assert _waves(app_pool) == 0


def test_a_manager_closes_a_wave_once(app_pool):
    wave_id = _wave(app_pool)
    path = f"/manager/surveys/{wave_id}/close"
    _refused_to_others(app_pool, path, {})
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, f"/manager/surveys/{wave_id}")
        assert manager.post(path, data={"csrf_token": "forged"}).status_code == 403
        with app_pool.connection() as conn:
            assert conn.execute("SELECT status FROM survey_waves WHERE id = %s", (wave_id,)).fetchone() == ("open",)
        closed = manager.post(path, data={"csrf_token": token})
        assert closed.status_code == 303 and closed.headers["location"] == f"/manager/surveys/{wave_id}?done=closed"
        page = manager.get(closed.headers["location"] + "&lang=en")
        assert "The wave is closed: it takes no more responses." in page.text and 'id="close-button"' not in page.text
        again = manager.post(path + "?lang=zh-CN", data={"csrf_token": token})
        assert again.status_code == 422 and "调查批次未结束。" in again.text
        assert f"survey wave {wave_id} is already closed" in again.text
        assert manager.post("/manager/surveys/999999/close", data={"csrf_token": token}).status_code == 404
    with app_pool.connection() as conn:
        assert conn.execute("SELECT status FROM survey_waves WHERE id = %s", (wave_id,)).fetchone() == ("closed",)


def test_a_manager_tops_up_one_building_short_of_its_share(app_pool):
    wave_id = _wave(app_pool)
    with app_pool.connection() as conn:  # rs-b1's sampled households all answer but one: one short of its 10 %
        sampled = [r[0] for r in conn.execute("SELECT unit_id FROM survey_wave_sample WHERE wave_id = %s AND "
                                              "building_id = 'rs-b1' ORDER BY position", (wave_id,))]
        for unit in sampled[1:]:
            record_response(conn, wave_id, unit, scores=dict.fromkeys(ITEM_KEYS, 4), overall=8, recommend=9,
                            now=datetime.now(UTC), mode="phone", entered_by="mgr")
        conn.commit()
    path = f"/manager/surveys/{wave_id}/topup"
    _refused_to_others(app_pool, path, {"building_id": "rs-b1"})
    with signed_in_client(app_pool, "mgr-waves") as manager:
        page = manager.get(f"/manager/surveys/{wave_id}")
        assert re.search(r'data-building="rs-b1".*?class="secondary topup"', page.text, re.S)
        token = form_token(manager, f"/manager/surveys/{wave_id}")
        assert manager.post(path, data={"csrf_token": "forged", "building_id": "rs-b1"}).status_code == 403
        done = manager.post(path, data={"csrf_token": token, "building_id": "rs-b1"})
        assert done.status_code == 303
        assert done.headers["location"] == f"/manager/surveys/{wave_id}?done=topup&n=1#coverage"
        assert "已补充 1 户样本，待电话访问。" in manager.get(done.headers["location"].split("#")[0]).text
        with app_pool.connection() as conn:
            added = conn.execute("SELECT building_id, mode FROM survey_wave_sample WHERE wave_id = %s AND top_up",
                                 (wave_id,)).fetchall()
        assert added == [("rs-b1", "phone")]  # only the building asked for, planned for a phone call
        wrong = manager.post(path + "?lang=en", data={"csrf_token": token, "building_id": "no-such-building"})
        assert wrong.status_code == 422 and "No household was added." in wrong.text
        assert "building &#39;no-such-building&#39; is not in survey wave" in wrong.text


def test_a_manager_sends_the_online_links_once(app_pool):
    wave_id = _wave(app_pool)
    path = f"/manager/surveys/{wave_id}/invite"
    _refused_to_others(app_pool, path, {})
    with signed_in_client(app_pool, "mgr-waves") as manager:
        token = form_token(manager, f"/manager/surveys/{wave_id}")
        assert manager.post(path, data={"csrf_token": "forged"}).status_code == 403
        sent = manager.post(path, data={"csrf_token": token})
        assert sent.status_code == 303
        with app_pool.connection() as conn:
            links = conn.execute("SELECT count(*) FROM survey_invitations WHERE wave_id = %s",
                                 (wave_id,)).fetchone()[0]  # type: ignore[index]
            notices = conn.execute("SELECT count(*) FROM notices WHERE dedupe_key LIKE %s",
                                   (f"survey:{wave_id}:%",)).fetchone()[0]  # type: ignore[index]
        assert links > 0 and notices == links
        assert sent.headers["location"] == f"/manager/surveys/{wave_id}?done=invited&n={links}"
        assert f"{links} survey links sent." in manager.get(sent.headers["location"] + "&lang=en").text
        rerun = manager.post(path, data={"csrf_token": token})
        assert rerun.headers["location"] == f"/manager/surveys/{wave_id}?done=invited&n=0"  # nobody twice
        with app_pool.connection() as conn:
            close_wave(conn, wave_id, now=datetime.now(UTC))
        closed = manager.post(path + "?lang=en", data={"csrf_token": token})
        assert closed.status_code == 422 and "No survey link was sent." in closed.text


def _answered_wave(pool: ConnectionPool) -> int:
    """A riverside wave with 12 online answers that put some dimensions in the matrix's cells."""
    with pool.connection() as conn:
        wave = create_wave(conn, site_id="riverside", kind="routine", sample=0.10, seed=21, by="mgr",
                           now=datetime.now(UTC) - timedelta(hours=1))
        issued = invite_online(conn, wave.id, datetime.now(UTC) - timedelta(hours=1), "https://estate.example")
        tokens = {i.unit_id: i.link.rsplit("/", 1)[1] for i in issued}
        for n, token in enumerate(list(tokens.values())[:12]):
            low = n % 3 == 0
            scores = {k: (2 if low else 4 + n % 2) if k.startswith(("elev", "repair", "water")) else 3 + n % 3
                      for k in ITEM_KEYS}
            answer_by_link(conn, token, scores=scores, overall=4 if low else 9, recommend=3 if low else 9,
                           now=datetime.now(UTC))
        conn.commit()
        return wave.id


def test_a_manager_plans_an_action_from_a_matrix_cell(app_pool):
    wave_id = _answered_wave(app_pool)
    with signed_in_client(app_pool, "mgr-waves") as manager:
        report = manager.get(f"/manager/surveys/{wave_id}?lang=en")
        cells = re.findall(r'<details class="cell" data-dimension="([a-z_]+)" data-quadrant="([a-z ]+)"', report.text)
        assert cells, "no matrix cell on the report"
        dimension, quadrant = cells[0]
        assert f"(survey wave #{wave_id}: " in report.text  # the title is pre-filled from the cell
        token = form_token(manager, f"/manager/surveys/{wave_id}")
        deadline = (date.today() + timedelta(days=60)).isoformat()
        form = {"dimension": dimension, "title": f"Improve {dimension} (survey wave #{wave_id})",
                "department_id": "engineering", "owner": "Wang", "deadline": deadline,
                "measures": "Walk the estate with the residents' committee"}
        path = f"/manager/surveys/{wave_id}/actions"
        assert manager.post(path, data=form | {"csrf_token": "forged"}).status_code == 403
        bad_day = manager.post(path + "?lang=zh-CN", data=form | {"csrf_token": token, "deadline": "soon"})
        assert bad_day.status_code == 422 and "请按日期格式（YYYY-MM-DD）填写截止日期。" in bad_day.text
        assert f'<details class="cell" data-dimension="{dimension}" data-quadrant="{quadrant}" open>' in bad_day.text
        past = manager.post(path + "?lang=en", data=form | {"csrf_token": token, "deadline": "2001-01-01"})
        assert past.status_code == 422 and "The action was not saved." in past.text and "before the start" in past.text
        unknown = manager.post(path + "?lang=en", data=form | {"csrf_token": token, "dimension": "parking"})
        assert unknown.status_code == 422 and "unknown dimension &#39;parking&#39;" in unknown.text
        with app_pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM review_actions").fetchone() == (0,)

        planned = manager.post(path, data=form | {"csrf_token": token})
        assert planned.status_code == 303
        with app_pool.connection() as conn:
            row = conn.execute("SELECT id, title, department_id, owner, deadline, metric, slice_site, "
                               "survey_wave_id, survey_dimension, measures FROM review_actions").fetchone()
        assert row is not None
        action_id = row[0]
        assert row[1:] == (form["title"], "engineering", "Wang", date.fromisoformat(deadline), "satisfaction_rate",
                           "riverside", wave_id, dimension, form["measures"])
        assert planned.headers["location"] == f"/manager/actions?added={action_id}#action-{action_id}"
        actions = manager.get("/manager/actions?lang=en")
        listed = re.search(rf'<tr id="action-{action_id}".*?</tr>', actions.text, re.S)
        assert listed is not None and form["title"] in listed.group(0) and "satisfaction rate" in listed.group(0)
    _refused_to_others(app_pool, path, form)
    with psycopg.connect(app_pool.conninfo) as conn:
        assert conn.execute("SELECT count(*) FROM review_actions").fetchone() == (1,)
