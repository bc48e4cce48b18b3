"""Classification benchmark: `python -m bench.classify [--data CSV]`.

Category and severity tier of labelled resident complaints (simplified Chinese, traditional Chinese, English;
tests/tickets/data/complaints_labelled.csv) by the product's classifier — the taxonomy rules (tickets/classify.py
with tickets/data/taxonomy.yaml) with the model learned from the desk's corrections (tickets/learned.py), trained
here on the `tune` split only, as if the desk had corrected those complaints — beside the rules alone and the
keyword-only classifier as it was on main (bench/classify_baseline.py), in the same run. The learned model's
`tune` figure is on its own training texts. The set is split: `tune` is what the keyword lists were adjusted
against (and what the learned model learns); `held_out` was not tuned on (but its rows were seen once in an
early error listing); `fresh` was written after the last change to the keyword lists and never tuned on. All
are reported. Prints tables, then `RESULT name=value unit` lines (over the whole set unless the name says
otherwise; `macro_f1` and the others without a `rules_` or `baseline_` prefix are the product's classifier's).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import classify_baseline
from tickets.classify import Category, classify_text
from tickets.learned import LearnedClassifier
from tickets.taxonomy import default_taxonomy

DATA = Path(__file__).resolve().parent.parent / "tests" / "tickets" / "data" / "complaints_labelled.csv"


@dataclass(frozen=True, slots=True)
class Row:
    lang: str
    split: str
    category: str
    tier: str
    text: str


@dataclass(frozen=True, slots=True)
class Score:
    macro_f1: float
    severity_accuracy: float
    recall: dict[str, float]
    n: int


def load(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as f:
        return [Row(r["lang"], r["split"], r["category"], r["tier"], r["text"]) for r in csv.DictReader(f)]


def score(rows: Sequence[Row], predict: Callable[[str], tuple[str, str]]) -> Score:
    """Macro-F1 over the taxonomy's categories (a category the classifier never predicts scores 0), recall per
    category, and the share of texts whose tier is right."""
    predicted = [predict(r.text) for r in rows]
    f1s: list[float] = []
    recall: dict[str, float] = {}
    for cat in (c.value for c in Category):
        tp = sum(1 for r, (p, _) in zip(rows, predicted, strict=True) if r.category == cat and p == cat)
        fp = sum(1 for r, (p, _) in zip(rows, predicted, strict=True) if r.category != cat and p == cat)
        fn = sum(1 for r, (p, _) in zip(rows, predicted, strict=True) if r.category == cat and p != cat)
        if tp + fn == 0:
            continue
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall[cat] = tp / (tp + fn)
        f1s.append(2 * precision * recall[cat] / (precision + recall[cat]) if precision + recall[cat] else 0.0)
    tiers = sum(1 for r, (_, t) in zip(rows, predicted, strict=True) if r.tier == t)
    return Score(sum(f1s) / len(f1s), tiers / len(rows), recall, len(rows))


def _rules(text: str) -> tuple[str, str]:
    found = classify_text(text)
    return found.category.value, found.tier.value


def trained(rows: Sequence[Row]) -> Callable[[str], tuple[str, str]]:
    """The product's classifier with a model that has learned `rows` (the tune split) as the desk's corrections."""
    model = LearnedClassifier(default_taxonomy())
    model.rebuild((r.text, r.category, r.tier) for r in rows)

    def predict(text: str) -> tuple[str, str]:
        found = classify_text(text, learned=model)
        return found.category.value, found.tier.value
    return predict


def _baseline(text: str) -> tuple[str, str]:
    found = classify_baseline.classify_text(text)
    return found.category.value, found.tier.value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    rows = load(args.data)
    subsets = {"all": rows, "tune": [r for r in rows if r.split == "tune"],
               "held_out": [r for r in rows if r.split == "held_out"],
               "fresh": [r for r in rows if r.split == "fresh"]}
    for lang in sorted({r.lang for r in rows}):
        subsets[f"lang={lang}"] = [r for r in rows if r.lang == lang]
    product = trained(subsets["tune"])
    print("macro-F1 and tier accuracy: rules + learned (trained on tune) | rules only | baseline")
    print(f"{'subset':<14}{'n':>5}  {'macro-F1':>9} {'rules':>7} {'baseline':>9}  {'tier acc':>9} {'rules':>7} "
          f"{'baseline':>9}")
    results: dict[str, tuple[Score, Score, Score]] = {}
    for name, subset in subsets.items():
        ours, rules, base = score(subset, product), score(subset, _rules), score(subset, _baseline)
        results[name] = (ours, rules, base)
        print(f"{name:<14}{ours.n:>5}  {ours.macro_f1:>9.3f} {rules.macro_f1:>7.3f} {base.macro_f1:>9.3f}  "
              f"{ours.severity_accuracy:>9.3f} {rules.severity_accuracy:>7.3f} {base.severity_accuracy:>9.3f}")
    print(f"\n{'recall per category':<20}{'all':>7} {'held_out':>9} {'rules h_o':>10} {'baseline':>9}")
    ours, rules, base = results["all"]
    held, rules_held = results["held_out"][0], results["held_out"][1]
    for cat, value in ours.recall.items():
        print(f"{cat:<20}{value:>7.3f} {held.recall.get(cat, 0.0):>9.3f} {rules_held.recall.get(cat, 0.0):>10.3f} "
              f"{base.recall.get(cat, 0.0):>9.3f}")
    print()
    print(f"RESULT macro_f1={ours.macro_f1:.3f} ratio")
    print(f"RESULT severity_accuracy={ours.severity_accuracy:.3f} ratio")
    print(f"RESULT baseline_macro_f1={base.macro_f1:.3f} ratio")
    print(f"RESULT held_out_macro_f1={held.macro_f1:.3f} ratio")
    print(f"RESULT fresh_macro_f1={results['fresh'][0].macro_f1:.3f} ratio")
    print(f"RESULT rules_macro_f1={rules.macro_f1:.3f} ratio")
    print(f"RESULT rules_held_out_macro_f1={rules_held.macro_f1:.3f} ratio")
    print(f"RESULT rules_fresh_macro_f1={results['fresh'][1].macro_f1:.3f} ratio")
    for cat, value in ours.recall.items():
        print(f"RESULT recall_{cat}={value:.3f} ratio")


if __name__ == "__main__":
    main()
