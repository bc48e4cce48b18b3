"""`forewarn detect replay`: streaming, one output row per input row, every layout, clear errors on bad input."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path

from typer.testing import CliRunner

from detectors.cli import app

runner = CliRunner()


def write_generic(path: Path, n: int = 600, step_at: int = 400) -> list[str]:
    rng = random.Random(5)
    stamps = [f"2026-03-02T10:{i // 60:02d}:{i % 60:02d}" for i in range(n)]
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "pressure", "flow"])
        for i, ts in enumerate(stamps):
            shift = 60.0 if i >= step_at else 0.0
            out.writerow([ts, f"{300 + rng.gauss(0, 3) - shift:.2f}", f"{40 + rng.gauss(0, 2):.2f}"])
    return stamps


def replay(*args: str) -> tuple[int, list[dict[str, str]], str]:
    result = runner.invoke(app, ["replay", *args])
    rows = list(csv.DictReader(io.StringIO(result.stdout))) if result.exit_code == 0 else []
    return result.exit_code, rows, result.stderr


def test_generic_csv_scores_every_row_in_order(tmp_path: Path) -> None:
    stamps = write_generic(tmp_path / "in.csv")
    code, rows, _ = replay(str(tmp_path / "in.csv"))
    assert code == 0
    assert [r["timestamp"] for r in rows] == stamps
    assert set(rows[0]) == {"timestamp", "score", "alarm"}
    scores = [float(r["score"]) for r in rows]
    assert all(0.0 <= s <= 1.0 for s in scores)
    alarms = [int(r["alarm"]) for r in rows]
    assert set(alarms) <= {0, 1}
    assert sum(alarms[400:420]) > 0  # a 60 kPa drop (20 sigmas) is flagged within 20 rows
    assert sum(alarms[100:400]) <= 3  # and the normal stretch before it is quiet


def test_no_look_ahead(tmp_path: Path) -> None:
    write_generic(tmp_path / "full.csv")
    lines = (tmp_path / "full.csv").read_text().splitlines()
    (tmp_path / "head.csv").write_text("\n".join(lines[:451]) + "\n")  # header + first 450 rows
    _, full, _ = replay(str(tmp_path / "full.csv"))
    _, head, _ = replay(str(tmp_path / "head.csv"))
    assert head == full[:450]


def test_skab_layout_ignores_its_label_columns(tmp_path: Path) -> None:
    rng = random.Random(2)
    header = "datetime;Accelerometer1RMS;Current;Pressure;anomaly;changepoint"
    body = [f"2020-03-09 10:{i // 60:02d}:{i % 60:02d};{0.2 + rng.gauss(0, 0.01):.4f};{1.0 + rng.gauss(0, 0.05):.4f};"
            f"{(0.5 if i >= 300 else 0.05) + rng.gauss(0, 0.01):.4f}" for i in range(400)]
    labelled = [f"{row};{int(i >= 300)};{int(i == 300)}" for i, row in enumerate(body)]
    unlabelled = [f"{row};0;0" for row in body]
    (tmp_path / "a.csv").write_text("\n".join([header, *labelled]) + "\n")
    (tmp_path / "b.csv").write_text("\n".join([header, *unlabelled]) + "\n")
    code, with_labels, _ = replay(str(tmp_path / "a.csv"), "--format", "skab", "--warmup", "200")
    assert code == 0 and len(with_labels) == 400
    assert with_labels[0]["timestamp"] == "2020-03-09 10:00:00"
    _, without_labels, _ = replay(str(tmp_path / "b.csv"), "--format", "skab", "--warmup", "200")
    assert with_labels == without_labels
    assert sum(int(r["alarm"]) for r in with_labels[300:330]) > 0  # the pressure step is caught
    assert sum(int(r["alarm"]) for r in with_labels[200:300]) == 0  # after fitting on rows < 200, quiet until it


def test_nab_layout_writes_to_a_file(tmp_path: Path) -> None:
    rows = [f"2015-02-26 {i // 60:02d}:{i % 60:02d}:00,{100 + (i % 7) + (900 if i == 500 else 0)}" for i in range(800)]
    (tmp_path / "nab.csv").write_text("\n".join(["timestamp,value", *rows]) + "\n")
    result = runner.invoke(app, ["replay", str(tmp_path / "nab.csv"), "--format", "nab", "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 0, result.stderr
    out = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert len(out) == 800
    assert max(range(800), key=lambda i: float(out[i]["score"])) in range(500, 505)  # the spike scores highest


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = replay(str(tmp_path / "nope.csv"))
    assert code != 0
    assert "no such file" in err and "Traceback" not in err


def test_non_numeric_cell_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("timestamp,value\n2026-01-01T00:00:00,1.0\n2026-01-01T00:00:01,abc\n")
    result = runner.invoke(app, ["replay", str(tmp_path / "bad.csv")])
    assert result.exit_code != 0
    assert "line 3" in result.stderr and "'value'" in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_column_and_format_are_clear_errors(tmp_path: Path) -> None:
    write_generic(tmp_path / "in.csv", n=10)
    code, _, err = replay(str(tmp_path / "in.csv"), "--columns", "pressure,temp")
    assert code != 0 and "'temp'" in err and "pressure" in err
    code, _, err = replay(str(tmp_path / "in.csv"), "--format", "parquet")
    assert code != 0 and "parquet" in err


def test_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    code, _, err = replay(str(tmp_path / "empty.csv"))
    assert code != 0 and "empty" in err
