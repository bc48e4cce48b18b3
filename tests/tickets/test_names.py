"""The names people read in place of ids (tickets.names), on the demo estate in a real PostgreSQL: a name where the
row has one, the id where it has none (an old event's id), and a placeholder for no id at all."""

from __future__ import annotations

import psycopg

from tickets import names


def test_each_kind_of_id_is_named_and_an_unknown_one_is_shown_as_it_is(conn: psycopg.Connection) -> None:
    assert names.building_name(conn, "rs-b1") == "1号楼 Building 1"
    assert names.building_name(conn, "gone-b9") == "gone-b9"
    assert names.unit_name(conn, "rs-b1-0101") == "1号楼 Building 1 0101"
    assert names.unit_name(conn, "gone-0101") == "gone-0101"
    assert names.unit_name(conn, None) is None
    engineering = dict(names.departments(conn))["engineering"]
    assert names.department_name(conn, "engineering") == engineering != "engineering"
    assert names.department_name(conn, "night-shift") == "night-shift"
    assert names.department_name(conn, None) == names.staff_name(conn, None) == "—"
    assert names.user_name(conn, "nobody") is None and names.staff_name(conn, "nobody") == "nobody"


def test_a_sites_buildings_are_its_own(conn: psycopg.Connection) -> None:
    every = names.building_names(conn)
    for site_id, site, buildings in names.sites_and_buildings(conn):
        assert names.site_name(conn, site_id) == site
        assert names.building_names(conn, site_id) == dict(buildings)
        assert all(every[b] == name for b, name in buildings)
    assert len(names.sites(conn)) >= 2
    place = names.place_names(conn)
    assert place["rs-b1"] == "1号楼 Building 1" and place["engineering"] == names.department_name(conn, "engineering")
