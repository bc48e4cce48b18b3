"""Sensitivity: whether a complaint's words threaten the media, a lawyer, the government hotline or collective
action (the rules in `tickets/data/sensitivity.yaml`, zh-CN simplified and traditional, and English). Handbook 004
warns that such complaints are the ones that grow into group incidents (群体性事件), so they are answered sooner and
a supervisor hears of them at once (`tickets.group_risk.flag_sensitive`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from tickets.classify import normalise


@dataclass(frozen=True, slots=True)
class SensitiveRule:
    name: str  # media, legal, hotline, collective
    words: tuple[str, ...]
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Sensitivity:
    rules: tuple[str, ...]  # the rules that matched, in file order
    matched: tuple[str, ...]  # the words that matched

    @property
    def sensitive(self) -> bool:
        return bool(self.rules)


def _pattern(zh: list[str], en: list[str]) -> re.Pattern[str]:
    # Chinese words as substrings; English ones (and numbers) as whole words, so "sue" is not found in "issue".
    parts = [re.escape(w) for w in zh] + [rf"(?<![a-z0-9]){re.escape(w.lower())}(?![a-z0-9])" for w in en]
    return re.compile("|".join(parts))


@cache
def default_rules() -> tuple[SensitiveRule, ...]:
    """The packaged rules, loaded once."""
    data = yaml.safe_load(resources.files("tickets").joinpath("data/sensitivity.yaml").read_text(encoding="utf-8"))
    rules = []
    for name, words in data["rules"].items():
        zh, en = [str(w) for w in words.get("zh", [])], [str(w) for w in words.get("en", [])]
        rules.append(SensitiveRule(str(name), tuple(zh + en), _pattern(zh, en)))
    return tuple(rules)


def sensitivity(text: str, rules: tuple[SensitiveRule, ...] | None = None) -> Sensitivity:
    """Which rules the text trips, and with which words (text normalised as for classification)."""
    lowered = normalise(text)
    names: list[str] = []
    words: list[str] = []
    for rule in rules or default_rules():
        found = [m.group(0) for m in rule.pattern.finditer(lowered)]
        if found:
            names.append(rule.name)
            words.extend(w for w in dict.fromkeys(found) if w not in words)
    return Sensitivity(tuple(names), tuple(words))
