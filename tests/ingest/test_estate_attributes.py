"""The survey's household attributes in the estate file (issue 17 point 6): a unit's type, a resident's move-in
date and whether they need help (tenure is the existing `group`). Optional; a bad value names the file, the line and
the field; stored and read back, a reload changing nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest

from ingest.estate_file import EstateFileError, load_estate_file, parse_estate
from ingest.estate_store import load_registry, save_estate

ESTATE = """version: 1
sites:
  - id: s1
    name: Site
    buildings:
      - id: b1
        name: B1
        floors: 3
        units:
          - id: u1
            floor: 1
            number: "101"
            type: 3室2厅
            residents:
              - {id: r1, name: 王芳, group: tenant, age_band: 60+, moved_in: 2016-03-01, needs_help: true}
              - id: r2
                name: 李伟
                moved_in: {moved_in}
                needs_help: {needs_help}
          - id: u2
            floor: 2
            number: "201"
            residents:
              - {{id: r3, name: 张敏}}
"""


def _estate(moved_in: str = "'2024-07-15'", needs_help: str = "false") -> str:
    return ESTATE.replace("{moved_in}", moved_in).replace("{needs_help}", needs_help).replace("{{", "{").replace(
        "}}", "}")


def test_the_attributes_are_read_and_optional():
    estate = parse_estate(_estate())
    units = {u.id: u for u in estate.units}
    residents = {r.id: r for r in estate.residents}
    assert units["u1"].unit_type == "3室2厅" and units["u2"].unit_type is None
    assert (residents["r1"].group.value, residents["r1"].moved_in, residents["r1"].needs_help) == (
        "tenant", date(2016, 3, 1), True)
    assert (residents["r2"].moved_in, residents["r2"].needs_help) == (date(2024, 7, 15), False)
    assert (residents["r3"].moved_in, residents["r3"].needs_help, residents["r3"].group.value) == (None, None, "owner")


@pytest.mark.parametrize(("moved_in", "needs_help", "field", "message"), [
    ("2020-13-01", "false", "moved_in", "'2020-13-01' is not a date: write YYYY-MM-DD"),
    ("last spring", "false", "moved_in", "'last spring' is not a date: write YYYY-MM-DD"),
    ("2020-01-01 08:00:00", "false", "moved_in", "is not a date: write YYYY-MM-DD"),
    ("2020", "false", "moved_in", "2020 is not a date"),
    ("2020-01-01", "maybe", "needs_help", "must be true or false, got 'maybe'"),
    ("2020-01-01", "1", "needs_help", "must be true or false, got 1"),
])
def test_a_bad_value_names_the_file_line_and_field(tmp_path: Path, moved_in, needs_help, field, message):
    path = tmp_path / "estate.yaml"
    path.write_text(_estate(moved_in, needs_help), encoding="utf-8")
    with pytest.raises(EstateFileError) as caught:
        load_estate_file(path)
    line = 18 if field == "moved_in" else 19  # the lines of r2's moved_in and needs_help
    assert str(caught.value).startswith(f"{path}, line {line}: sites[0].buildings[0].units[0].residents[1].{field}: ")
    assert message in str(caught.value)


def test_stored_and_reloaded_idempotently(db_url):
    estate = parse_estate(_estate())
    with psycopg.connect(db_url) as conn:
        save_estate(conn, estate)
        conn.commit()
        first = conn.execute("SELECT id, moved_in, needs_help FROM residents ORDER BY id").fetchall()
        save_estate(conn, estate)  # the same file again: nothing changes
        conn.commit()
        assert conn.execute("SELECT id, moved_in, needs_help FROM residents ORDER BY id").fetchall() == first == [
            ("r1", date(2016, 3, 1), True), ("r2", date(2024, 7, 15), False), ("r3", None, None)]
        assert conn.execute("SELECT id, unit_type FROM units ORDER BY id").fetchall() == [
            ("u1", "3室2厅"), ("u2", None)]
        registry = load_registry(conn)
        assert {r.id: (r.moved_in, r.needs_help) for r in registry.residents} == {
            r.id: (r.moved_in, r.needs_help) for r in estate.residents}
        assert {u.id: u.unit_type for u in registry.units} == {"u1": "3室2厅", "u2": None}
        # A changed file updates in place: the help flag cleared, the unit type dropped.
        changed = parse_estate(_estate(needs_help="true").replace("            type: 3室2厅\n", ""))
        save_estate(conn, changed)
        conn.commit()
        assert conn.execute("SELECT needs_help FROM residents WHERE id = 'r2'").fetchone() == (True,)
        assert conn.execute("SELECT unit_type FROM units WHERE id = 'u1'").fetchone() == (None,)
