"""The labelled complaint set behind `python -m bench.classify`, and the classifier's standing on it."""

from __future__ import annotations

from collections import Counter

from bench.classify import DATA, _baseline, _rules, load, score, trained
from tickets.classify import Category, Tier


def test_the_labelled_set_covers_every_category_in_three_scripts():
    rows = load(DATA)
    assert len(rows) >= 300
    assert {r.lang for r in rows} == {"zh-CN", "zh-TW", "en"}
    assert {r.category for r in rows} == {c.value for c in Category}
    assert {r.tier for r in rows} <= {t.value for t in Tier}
    assert {r.split for r in rows} == {"tune", "held_out", "fresh"}
    assert min(Counter(r.category for r in rows).values()) >= 30
    assert len({r.text for r in rows}) == len(rows)  # no text counted twice


def test_the_taxonomy_beats_mains_keyword_classifier_on_held_out_texts():
    held = [r for r in load(DATA) if r.split == "held_out"]
    ours, base = score(held, _rules), score(held, _baseline)
    assert ours.macro_f1 >= 0.8 > base.macro_f1 + 0.5
    assert ours.severity_accuracy > base.severity_accuracy


def test_a_model_taught_the_tune_texts_reads_held_out_texts_better_than_the_rules_alone():
    rows = load(DATA)
    tune, held = [r for r in rows if r.split == "tune"], [r for r in rows if r.split == "held_out"]
    learned, rules = score(held, trained(tune)), score(held, _rules)
    assert learned.macro_f1 > rules.macro_f1
    assert learned.recall["house_quality"] > rules.recall["house_quality"]
    assert learned.recall["neighbour"] > rules.recall["neighbour"]
