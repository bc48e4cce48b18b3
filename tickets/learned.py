"""A classifier that learns from the desk's corrections (river, streaming). Every staff correction of a complaint
ticket's classification (`tickets.complaints.reclassify`, `PATCH /api/v1/tickets/{id}/classification`) is one
labelled example — the complaint's text and the corrected category — learned at once; on start the model is
rebuilt from the corrections recorded in the database (`reclassified` ticket events). Before any correction it
knows only the taxonomy's own words (seeds), and `classify_text` leaves the rules' answer alone until it has
learned at least one correction.

Why river: it learns one example at a time (`learn_one`), so a correction teaches the model at once, with no
retraining job, and rebuilding from the recorded corrections is a replay. The model: complement naive Bayes
(`river.naive_bayes.ComplementNB`) over token unigrams and bigrams of the normalised text, each CJK character a
token and each English word a token (`river.feature_extraction.BagOfWords`), chosen with its threshold by 5-fold
cross-validation within the bench's `tune` split (`python -m bench.classify_cv`; docs/lifecycle.md "Measured").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

import psycopg

from tickets.classify import Category, normalise
from tickets.group_risk import SYSTEM_ACTOR
from tickets.taxonomy import Taxonomy

# A CJK character is a token; a run of Latin letters or digits is one.
_TOKEN = re.compile(r"[\u3400-\u9fff]|[a-z0-9']+")
# The model's category replaces the rules' only when it is at least this sure (cross-validated within the tune
# split: the middle of the plateau of best macro-F1, 0.8-0.95).
MIN_PROBABILITY = 0.9
# Corrections made by the platform itself (group risk raising a ticket to major) are not the desk's reading.
SYSTEM_ACTORS = (SYSTEM_ACTOR,)
# The last correction of each complaint ticket: the ticket's text (the complaint that opened it) and the
# category and tier the desk settled on.
_SQL_CORRECTIONS = """
    SELECT text, category, tier FROM (
        SELECT DISTINCT ON (e.ticket_id) e.id, t.description AS text, e.detail->'after'->>'category' AS category,
               e.detail->'after'->>'severity' AS tier
        FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id
        WHERE e.event = 'reclassified' AND t.source = 'complaint' AND t.description <> ''
          AND (e.actor IS NULL OR NOT e.actor = ANY(%(system)s))
        ORDER BY e.ticket_id, e.id DESC) last
    ORDER BY id"""

Example = tuple[str, str, str | None]  # (text, category, tier)


def tokens(text: str) -> list[str]:
    """The tokens of an already normalised text: CJK characters one by one, English words whole."""
    return _TOKEN.findall(text)


def make_model(kind: str = "complement") -> Any:
    """A fresh river pipeline; river is imported here (two seconds), not when the tickets package is."""
    from river import compose, feature_extraction, naive_bayes

    bag = feature_extraction.BagOfWords(lowercase=False, strip_accents=False, tokenizer=tokens, ngram_range=(1, 2))
    if kind == "complement":
        return compose.Pipeline(bag, naive_bayes.ComplementNB(alpha=1.0))  # type: ignore[no-untyped-call]
    if kind == "multinomial":
        return compose.Pipeline(bag, naive_bayes.MultinomialNB(alpha=1.0))  # type: ignore[no-untyped-call]
    raise ValueError(f"unknown model kind {kind!r}: complement or multinomial")


class LearnedClassifier:
    """Category from a complaint's text, learned one example at a time; one lock around learning and predicting,
    so the API's worker threads may share it."""

    def __init__(self, taxonomy: Taxonomy, kind: str = "complement",
                 min_probability: float = MIN_PROBABILITY) -> None:
        self._taxonomy, self._kind = taxonomy, kind
        self.min_probability = min_probability  # classify_text takes its category from this probability up
        self._lock = threading.Lock()
        # Built on first use (river's import and the seeds take seconds): a command that never learns never pays.
        self._model: Any = None
        self._corrections = 0

    def _seeded(self) -> Any:
        """A model that knows the taxonomy's words, each a one-word text of its fault point's category."""
        model = make_model(self._kind)
        for point in self._taxonomy.fault_points:
            for keyword in point.keywords:
                model.learn_one(normalise(keyword.word), point.category.value)
        return model

    @property
    def corrections(self) -> int:
        """How many corrections it has learned (the seeds not counted)."""
        return self._corrections

    def learn(self, text: str, category: Category | str, tier: str | None = None) -> None:
        """One labelled example: a complaint's text and its category. `tier` is taken for the record and not
        learned: the category's tier is the taxonomy's (docs/lifecycle.md)."""
        label, words = Category(category).value, normalise(text)
        with self._lock:
            if self._model is None:
                self._model = self._seeded()
            self._model.learn_one(words, label)
            self._corrections += 1

    def rebuild(self, examples: Iterable[Example]) -> int:
        """Start again from the seeds and learn `examples` (e.g. the recorded corrections); returns how many."""
        todo = [(normalise(text), Category(category).value) for text, category, _ in examples]
        fresh: Any = self._seeded() if todo else None  # none: the seeds are built when first needed
        for words, label in todo:
            fresh.learn_one(words, label)
        with self._lock:
            self._model, self._corrections = fresh, len(todo)
        return len(todo)

    def predict(self, text: str) -> tuple[Category, float]:
        """The likeliest category and its probability."""
        words = normalise(text)
        with self._lock:
            if self._model is None:
                self._model = self._seeded()
            proba: dict[str, float] = self._model.predict_proba_one(words)
        label, p = max(proba.items(), key=lambda kv: (kv[1], kv[0]))
        return Category(label), float(p)


def recorded_corrections(conn: psycopg.Connection) -> list[Example]:
    """The desk's corrections recorded in the database, oldest first: the last correction of each complaint
    ticket, as (text, category, tier)."""
    known = {c.value for c in Category}
    rows = conn.execute(_SQL_CORRECTIONS, {"system": list(SYSTEM_ACTORS)}).fetchall()
    return [(str(text), str(category), tier) for text, category, tier in rows if category in known]


def rebuild_from_db(conn: psycopg.Connection, model: LearnedClassifier) -> int:
    """Rebuild `model` from the corrections recorded in the database; returns how many it learned."""
    return model.rebuild(recorded_corrections(conn))
