"""The register search of the desk's intake page (/desk/intake, tickets.desk_intake.find_residents) the way agents
type while the caller is on the phone: the unit with or without the building and with or without spaces, the
resident's name or part of it, the phone or its last digits, the site, building and unit together; each result
named with its site, so the two estates' "1号楼 1301" are told apart without the unit's code. The walk-through
that found it: 刘磊 of rs-b1-1301 (滨江花园's 1号楼) was "not in the register" for all but "1号楼 1301"."""

from __future__ import annotations

import re

import pytest
from psycopg_pool import ConnectionPool

from tests.web.clients import form_token, signed_in_client
from tickets.desk_intake import SEARCH_LIMIT, find_residents

NO_MATCH = "住户档案中没有匹配的住户"
RIVERSIDE, LAKEVIEW = "滨江花园 Riverside Gardens", "湖景苑 Lakeview Court"
LIU_LEI = f"{RIVERSIDE} · 1号楼 Building 1 1301 · 刘磊 · 17478658129"  # r-00103, unit rs-b1-1301
RS_B1_1301 = {"r-00101", "r-00102", "r-00103"}  # 张艳, 赵军, 刘磊
LV_B1_1301 = {"r-00703", "r-00704", "r-00705"}  # 湖景苑's 1号楼 1301: 李涛, 何强, 何超
_ROW = re.compile(r'<span data-resident="([^"]+)"([^>]*)>([^<]*)</span>')


def _search(pool: ConnectionPool, query: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The page (in Chinese, the app's default) after searching `query`, and its results in the order shown:
    (resident id, the span's other attributes, its text)."""
    with signed_in_client(pool, "agent-1") as client:
        token = form_token(client, "/desk/intake")
        page = client.post("/desk/intake", data={"csrf_token": token, "step": "search", "q": query,
                                                 "channel": "phone", "kind": "complaint"})
    assert page.status_code == 200, page.text[-2000:]
    assert 'lang="zh-CN"' in page.text
    return page.text, _ROW.findall(page.text)


@pytest.mark.parametrize("query", [
    "1号楼1301", "1号楼 1301", "1-1301", "1301", "1号楼1301室", "1栋1301", "1#1301", "１号楼１３０１",
    "刘磊", "刘 1301", "磊 1号楼1301", "1301 刘磊",
    "滨江花园 1号楼 1301", "滨江花园1号楼1301", "滨江 1-1301", "Riverside 1号楼 1301", "  RS-B1-1301  ", "b1-1301",
    "17478658129", "174 7865 8129", "+86 174-7865-8129", "8129", "刘磊 8129",
])
def test_each_way_an_agent_types_the_caller_finds_liu_lei_of_rs_b1_1301(desk, query):
    page, rows = _search(desk, query)
    assert NO_MATCH not in page, query
    shown = {resident: " ".join(text.split()) for resident, _, text in rows}
    assert shown.get("r-00103") == LIU_LEI, (query, shown)  # named with the site, the building and the room
    assert len(rows) <= SEARCH_LIMIT


@pytest.mark.parametrize(("query", "expected"), [
    ("滨江花园 1号楼 1301", RS_B1_1301),
    ("rs-b1-1301", RS_B1_1301),
    ("湖景苑1号楼1301", LV_B1_1301),
    ("刘磊 8129", {"r-00103"}),  # two residents' phones end in 8129; one of them is 刘磊
    ("8129", {"r-00103", "r-01188"}),
    ("刘磊", {"r-00103", "r-00324", "r-00343", "r-00880", "r-00896"}),
])
def test_the_site_name_phone_or_unit_narrow_the_search_to_whom_they_name(desk, query, expected):
    _, rows = _search(desk, query)
    assert {resident for resident, _, _ in rows} == expected


def test_the_two_estates_1301s_of_building_1_are_told_apart_by_their_site_name(desk):
    page, rows = _search(desk, "1号楼1301")
    found = {resident: (attributes, " ".join(text.split())) for resident, attributes, text in rows}
    assert set(found) == RS_B1_1301 | LV_B1_1301  # 赵芳's phone ends in 1301, but the query names a unit
    for resident in RS_B1_1301:
        assert found[resident][1].startswith(f"{RIVERSIDE} · 1号楼 Building 1 1301 · ")
        assert 'data-unit="rs-b1-1301"' in found[resident][0]  # the code is still there, not in the text
    for resident in LV_B1_1301:
        assert found[resident][1].startswith(f"{LAKEVIEW} · 1号楼 Building 1 1301 · ")
        assert 'data-unit="lv-b1-1301"' in found[resident][0]
    assert "(rs-b1-1301)" not in page and "(lv-b1-1301)" not in page


def test_an_agents_own_estate_comes_first_among_equally_close_matches(desk):
    """Across a portfolio a room number names a room in every estate: the agent's own (a grid they own, a site they
    manage) are listed first; a closer match elsewhere (a whole phone number) still comes first."""
    def first_site(query: str) -> set[str]:
        _, rows = _search(desk, query)
        return {resident for resident, _, _ in rows[:3]}

    assert first_site("1号楼1301") == LV_B1_1301  # no estate of her own: the estates in order, 湖景苑 (lv) first
    with desk.connection() as conn:
        conn.execute("INSERT INTO grid_owners (grid, department_id, user_id) VALUES ('rs-G2', 'customer_service', "
                     "'agent-1')")  # she answers for 滨江花园's second grid
        conn.commit()
    assert first_site("1号楼1301") == RS_B1_1301  # 滨江花园's own 1号楼 1301 first, though its grid is rs-G1
    _, rows = _search(desk, "1301")
    assert [r for r, _, _ in rows].index("r-00786") == 16  # a phone ending in 1301 is still a looser match
    with desk.connection() as conn:
        conn.execute("DELETE FROM grid_owners WHERE user_id = 'agent-1'")
        conn.commit()
    assert first_site("1号楼 1301") == LV_B1_1301
    with desk.connection() as conn:
        conn.execute("INSERT INTO site_managers (site_id, user_id) VALUES ('riverside', 'agent-1')")
        conn.commit()
    assert first_site("1号楼 1301") == RS_B1_1301  # the estate she manages


def test_a_room_number_lists_the_rooms_first_and_the_phones_ending_in_it_last(desk):
    _, rows = _search(desk, "1301")
    order = [resident for resident, _, _ in rows]
    assert len(order) == 17 and order[-1] == "r-00786"  # 16 residents of rooms 1301, then 赵芳 (…1301)


def test_the_list_is_short_and_the_closest_names_come_first(desk):
    _, rows = _search(desk, "磊")  # dozens of names with 磊
    assert len(rows) == SEARCH_LIMIT
    with desk.connection() as conn:
        conn.execute("UPDATE residents SET name = '磊' WHERE id = 'r-00896'")
        conn.commit()
    _, rows = _search(desk, "磊")
    assert rows[0][0] == "r-00896"  # the exact name first, then names starting with it, then containing it


def test_a_list_cut_short_says_more_residents_match_and_how_to_narrow_it(desk):
    page, rows = _search(desk, "磊")  # dozens of names with 磊: the caller may be past the list's end
    assert len(rows) == SEARCH_LIMIT
    more = re.search(r'<p class="notice" role="status" id="more-matches">([^<]*)</p>', page)
    assert more is not None and f"显示的 {SEARCH_LIMIT} 位" in more[1] and "小区名称" in more[1], page[-3000:]
    page, rows = _search(desk, "滨江花园 1号楼 1301")  # the whole list: nothing more to say
    assert len(rows) == len(RS_B1_1301) and 'id="more-matches"' not in page


def test_the_chosen_resident_is_shown_with_the_site_too(desk):
    with signed_in_client(desk, "agent-1") as client:
        page = client.get("/desk/intake", params={"q": "刘磊 8129"}).text
        assert re.search(r'value="r-00103" checked', page)  # the only match is chosen at once
        token = form_token(client, "/desk/intake")
        checked = client.post("/desk/intake", data={"csrf_token": token, "step": "check", "resident_id": "r-00103",
                                                    "channel": "phone", "kind": "complaint",
                                                    "description": "楼道的灯坏了"}).text
    rows = {resident: " ".join(text.split()) for resident, _, text in _ROW.findall(checked)}
    assert rows["r-00103"] == LIU_LEI


def test_queries_that_name_nobody_find_nobody(desk):
    with desk.connection() as conn:
        for query in ("", "   ", "、，", "rs-b9-9999", "9号楼1301", "滨江花园 刘磊 1-1302", "王五六", "0000000"):
            assert find_residents(conn, query) == [], query


def test_an_estate_of_thousands_is_searched_at_once(desk):
    """12,000 more residents (20 in each unit): every way of typing still finds the right one first, and the list
    stays as short. (Its speed is not timed here: timing belongs in a benchmark, not in a test.)"""
    with desk.connection() as conn:
        conn.execute("INSERT INTO residents (id, unit_id, name, phone) SELECT 'x-' || g || '-' || u.id, u.id, "
                     "'住户' || g, '139' || lpad(g::text, 8, '0') FROM generate_series(1, 20) g CROSS JOIN units u")
        conn.execute("ANALYZE residents")
        conn.commit()
        for query, first in (("刘磊 8129", "r-00103"), ("滨江花园 1号楼 1301", "r-00101"), ("1号楼1301", None),
                             ("磊", None), ("17478658129", "r-00103"), ("rs-b1-1301", "r-00101"), ("8129", None)):
            found = find_residents(conn, query)
            assert 0 < len(found) <= SEARCH_LIMIT, query
            if first:
                assert found[0].id == first, query
