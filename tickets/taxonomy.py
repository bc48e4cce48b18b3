"""The complaint taxonomy (category -> fault point) and its loader: one home, `tickets/data/taxonomy.yaml`,
loaded once and validated, or an operator's file of the same shape. A bad file is a `TaxonomyError` naming the
file and the entry, never a crash half-way through classification."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

import yaml


class Category(StrEnum):
    SERVICE_ATTITUDE = "service_attitude"  # 服务态度 (001)
    FACILITY = "facility"  # 设施维护: elevator, water, lights, doors (001)
    BILLING = "billing"  # 收费争议 (001)
    COMMUNITY = "community"  # 社区管理: parking, pets, noise (001)
    HOUSE_QUALITY = "house_quality"  # 房屋质量: 渗漏, 开裂, 隔音 — the developer's warranty (004)
    ENVIRONMENT = "environment"  # 社区环境: cleaning, greenery, pests (003)
    NEIGHBOUR = "neighbour"  # 邻里纠纷 (003)
    PARCEL = "parcel"  # 快递服务 (003)


class Tier(StrEnum):
    MAJOR = "major"  # 重大: entrapment, burst pipe, water outage
    GENERAL = "general"  # 一般
    COMPLEX = "complex"  # 复杂: billing disputes and other long-running cases


# A tier by name (zh, en), as staff pushes word it (tickets.staff_push).
TIER_NAMES: dict[str, tuple[str, str]] = {Tier.MAJOR: ("重大", "Major"), Tier.GENERAL: ("一般", "General"),
                                          Tier.COMPLEX: ("复杂", "Complex")}


class TaxonomyError(ValueError):
    """A taxonomy file that cannot be used, with the file and the entry at fault."""


STRONG_WEIGHT = 3.0
PLAIN_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class Keyword:
    word: str
    weight: float
    pattern: re.Pattern[str] | None  # English words match whole words; Chinese ones as substrings


@dataclass(frozen=True, slots=True)
class FaultPoint:
    name: str
    category: Category
    tier: Tier
    department: str
    escalates: bool  # major words raise it to the major tier
    device_kind: str | None
    keywords: tuple[Keyword, ...]


@dataclass(frozen=True, slots=True)
class Taxonomy:
    fault_points: tuple[FaultPoint, ...]
    major: tuple[Keyword, ...]
    ignore: tuple[str, ...]  # compounds blanked out before matching (卫生间 is not about 卫生)
    departments: dict[Category, str]
    source: str


def _keyword(word: object, weight: float, where: str) -> Keyword:
    if not isinstance(word, str | int) or not str(word).strip():
        raise TaxonomyError(f"{where}: keyword {word!r} is not a word")
    text = str(word).strip().lower()
    if text.isascii():
        body = re.escape(text)
        return Keyword(text, weight, re.compile(rf"(?<![a-z]){body}(?:s|es|ed|d|ing)?(?![a-z])"))
    return Keyword(text, weight, None)


def _words(entry: dict[str, object], key: str, weight: float, where: str) -> list[Keyword]:
    raw = entry.get(key, [])
    if not isinstance(raw, list):
        raise TaxonomyError(f"{where}: '{key}' must be a list of words")
    return [_keyword(w, weight, f"{where}.{key}") for w in raw]


def _fault_point(name: str, entry: object, category: Category, department: str, where: str) -> FaultPoint:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{where}: must be a mapping with tier and keywords")
    unknown = set(entry) - {"tier", "escalates", "device_kind", "strong", "keywords", "department"}
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {sorted(unknown)}")
    try:
        tier = Tier(entry.get("tier", "general"))
    except ValueError:
        raise TaxonomyError(f"{where}: tier {entry.get('tier')!r} is not one of {[t.value for t in Tier]}") from None
    keywords = _words(entry, "strong", STRONG_WEIGHT, where) + _words(entry, "keywords", PLAIN_WEIGHT, where)
    keywords = list({k.word: k for k in reversed(keywords)}.values())  # a word listed twice counts once, as strong
    if not keywords:
        raise TaxonomyError(f"{where}: no keywords")
    kind = entry.get("device_kind")
    return FaultPoint(name, category, tier, str(entry.get("department", department)), bool(entry.get("escalates")),
                      str(kind) if kind else None, tuple(keywords))


def parse_taxonomy(data: object, source: str) -> Taxonomy:
    """A taxonomy from a parsed YAML document; raises TaxonomyError naming `source` and the entry at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise TaxonomyError(f"{source}: needs a 'categories' mapping")
    points: list[FaultPoint] = []
    departments: dict[Category, str] = {}
    for cat_name, cat in data["categories"].items():
        where = f"{source}: categories.{cat_name}"
        try:
            category = Category(cat_name)
        except ValueError:
            raise TaxonomyError(f"{where}: unknown category; known: {[c.value for c in Category]}") from None
        if not isinstance(cat, dict) or not isinstance(cat.get("fault_points"), dict) or not cat.get("department"):
            raise TaxonomyError(f"{where}: needs a department and a 'fault_points' mapping")
        departments[category] = str(cat["department"])
        for name, entry in cat["fault_points"].items():
            points.append(_fault_point(str(name), entry, category, departments[category],
                                       f"{where}.fault_points.{name}"))
    missing = set(Category) - set(departments)
    if missing:
        raise TaxonomyError(f"{source}: categories missing: {sorted(c.value for c in missing)}")
    major = data.get("major", [])
    if not isinstance(major, list):
        raise TaxonomyError(f"{source}: 'major' must be a list of words")
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list):
        raise TaxonomyError(f"{source}: 'ignore' must be a list of words")
    return Taxonomy(tuple(points), tuple(_keyword(w, 1.0, f"{source}: major") for w in major),
                    tuple(str(w).lower() for w in ignore), departments, source)


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy in `path`, or the packaged default; raises TaxonomyError for a missing or malformed file."""
    if path is None:
        text = resources.files("tickets").joinpath("data/taxonomy.yaml").read_text(encoding="utf-8")
        source = "tickets/data/taxonomy.yaml"
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise TaxonomyError(f"{path}: cannot read the taxonomy file: {exc}") from exc
        source = str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaxonomyError(f"{source}: not valid YAML: {exc}") from exc
    return parse_taxonomy(data, source)


@cache
def default_taxonomy() -> Taxonomy:
    """The packaged taxonomy, loaded once."""
    return load_taxonomy()
