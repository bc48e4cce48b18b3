"""FOREWARN_TAXONOMY_FILE: an operator's taxonomy replaces the packaged one; a bad one is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from forewarn.configs import ticket_config
from forewarn.settings import SettingsError, load_settings
from tickets.classify import Category, classify_text
from tickets.taxonomy import default_taxonomy


def test_a_bad_taxonomy_file_is_refused_with_the_file_and_entry(tmp_path: Path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text("categories:\n  weather:\n    department: x\n    fault_points: {}\n", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"taxonomy_file: .*categories\.weather: unknown category"):
        load_settings(environ={"FOREWARN_TAXONOMY_FILE": str(path)})


def test_an_operator_taxonomy_reaches_the_ticket_config(tmp_path: Path):
    packaged = (Path(__file__).resolve().parents[2] / "tickets" / "data" / "taxonomy.yaml").read_text("utf-8")
    path = tmp_path / "taxonomy.yaml"
    path.write_text(packaged.replace("strong: [快递,", "strong: [信报箱, 快递,"), encoding="utf-8")
    config = ticket_config(load_settings(environ={"FOREWARN_TAXONOMY_FILE": str(path)}))
    assert config.taxonomy is not None and config.taxonomy.source == str(path)
    assert classify_text("信報箱", config.taxonomy).category is Category.PARCEL
    assert classify_text("信報箱", default_taxonomy()).category is not Category.PARCEL
    assert ticket_config(load_settings(environ={})).taxonomy is None  # unset: the packaged taxonomy
