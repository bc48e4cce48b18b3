"""How the learned classifier is combined with the rules, chosen by cross-validation within the `tune` split only:
`python -m bench.classify_cv [--data CSV] [--folds 5]`.

Only the `tune` rows of the labelled set are read (held_out and fresh never are). They are dealt into folds (row
i to fold i mod k); for each fold a model seeded with the taxonomy's words learns the other folds (as if the desk
had corrected those complaints) and the fold is classified. Compared: the rules alone; the model alone; "fallback"
(the rules when they match a word, else the model when its probability is at least p); "override" (the model's
category when its probability is at least p, else the rules'), for two river models and several p. Prints the
pooled macro-F1 and tier accuracy of each, then `RESULT` lines for the chosen combination (tickets/learned.py).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bench.classify import DATA, Row, Score, load, score
from tickets.classify import classify_text
from tickets.learned import MIN_PROBABILITY, LearnedClassifier
from tickets.taxonomy import default_taxonomy

KINDS = ("complement", "multinomial")
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)


def cross_validate(rows: Sequence[Row], kind: str, folds: int) -> dict[str, Score]:
    """Pooled out-of-fold scores of every combination, for one model kind."""
    tax = default_taxonomy()
    answers: dict[str, dict[str, tuple[str, str]]] = {}  # combination -> text -> (category, tier)
    for k in range(folds):
        model = LearnedClassifier(tax, kind)
        model.rebuild((r.text, r.category, r.tier) for i, r in enumerate(rows) if i % folds != k)
        for r in (r for i, r in enumerate(rows) if i % folds == k):
            rules = classify_text(r.text, tax)
            category, p = model.predict(r.text)
            tier = next(fp.tier for fp in tax.fault_points if fp.category is category).value
            answers.setdefault("rules", {})[r.text] = (rules.category.value, rules.tier.value)
            answers.setdefault("model", {})[r.text] = (category.value, tier)
            for threshold in THRESHOLDS:
                model.min_probability = threshold
                combined = classify_text(r.text, tax, model)
                answers.setdefault(f"override p>={threshold}", {})[r.text] = (combined.category.value,
                                                                             combined.tier.value)
                fallback = combined if not rules.matched else rules
                answers.setdefault(f"fallback p>={threshold}", {})[r.text] = (fallback.category.value,
                                                                             fallback.tier.value)
    return {name: score(rows, got.__getitem__) for name, got in answers.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    if args.folds < 2:
        parser.error("--folds must be at least 2")
    rows = [r for r in load(args.data) if r.split == "tune"]
    print(f"{len(rows)} tune rows, {args.folds} folds (held_out and fresh not read)")
    print(f"{'model':<12} {'combination':<20} {'macro-F1':>9} {'tier acc':>9}")
    chosen: Score | None = None
    for kind in KINDS:
        for name, found in cross_validate(rows, kind, args.folds).items():
            print(f"{kind:<12} {name:<20} {found.macro_f1:>9.3f} {found.severity_accuracy:>9.3f}")
            if kind == KINDS[0] and name == f"override p>={MIN_PROBABILITY}":
                chosen = found
    assert chosen is not None
    print(f"\nRESULT cv_tune_macro_f1={chosen.macro_f1:.3f} ratio")
    print(f"RESULT cv_tune_severity_accuracy={chosen.severity_accuracy:.3f} ratio")


if __name__ == "__main__":
    main()
