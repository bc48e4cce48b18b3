"""bench.desk_search measures searches that find whom they look for: on a small generated registry each way an agent
types finds the resident it was drawn from (and the query of a caller not in the registry finds nobody), the
baseline finds its resident by id, and the run ends with its `RESULT` lines in the documented form."""

from __future__ import annotations

import re

import psycopg
import pytest

from bench.desk_registry import GIVEN, SITE_HEADS, SITE_TAILS, SURNAMES, RegistryGrower
from bench.desk_search import BASELINE, CALLER_NOT_REGISTERED, KINDS, diagnose, explain, run

_RESULT = re.compile(r"^RESULT desk_search_(p95_ms|vs_baseline)_300=[0-9]+\.[0-9] (ms|x)$", re.MULTILINE)


def test_each_kind_finds_the_resident_it_was_drawn_from(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    [size] = run(db_url, [300], repeat=2)
    out = capsys.readouterr().out

    assert size.residents == 300
    assert [f.kind for f in size.figures] == [k.name for k in KINDS] + [BASELINE]
    for f in size.figures:
        assert f.found == 1.0, f  # every run: the resident drawn is listed (no match: nobody is)
        assert f.median_ms > 0 and f.p95_ms >= f.median_ms, f
    assert size.figures[[k.name for k in KINDS].index("no match")].rows == 0
    assert size.baseline.rows == 1
    lines = [m[0] for m in _RESULT.finditer(out)]
    assert [line.split("=")[0] for line in lines] == ["RESULT desk_search_p95_ms_300",
                                                      "RESULT desk_search_vs_baseline_300"]
    assert out.rstrip().endswith(lines[-1])  # the RESULT lines end the output
    assert f"p95 ≤ 300 ms: {'met' if size.slowest.p95_ms <= 300 else 'NOT met'}" in out


def test_the_registry_grows_to_the_size_asked_and_no_further(db_url: str) -> None:
    grower = RegistryGrower(seed=1)
    with psycopg.connect(db_url) as conn:
        assert grower.grow(conn, 250) == 250
        assert grower.grow(conn, 400) == 150
        assert conn.execute("SELECT count(*) FROM residents").fetchone() == (400,)
        with pytest.raises(ValueError, match="already has 400 residents"):
            grower.grow(conn, 399)


def test_the_plan_is_of_the_search_itself(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        RegistryGrower(seed=1).grow(conn, 100)
        plan = explain(conn, "1号楼 101")
    assert any("Seq Scan on residents" in line for line in plan) and "Execution Time" in plan[-1]
    assert diagnose(plan, 100).startswith("cause: read ")
    assert "every active resident (100) is read: no term of this search has an index" in diagnose(plan, 100)


def test_names_of_people_and_places_share_no_character() -> None:
    """So that a part of a name finds people, not a whole estate, and the unregistered caller's surname nobody."""
    people = set(GIVEN) | set(SURNAMES)
    assert not people & set("".join(SITE_HEADS + SITE_TAILS) + "滨江花园湖景苑号楼")
    assert not set(CALLER_NOT_REGISTERED) & people
