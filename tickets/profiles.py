"""SLA profiles: the one home of the clock values (`tickets/data/sla_profiles.yaml`), which profile each site runs
on (`sites.sla_profile`), and the profile a ticket was opened with (`tickets.sla_profile`).

A site's profile applies to the tickets it opens from then on; an open ticket keeps its deadlines, and its reopen
and pause arithmetic follow the profile stamped on it. A site that never chose one runs on the default (001)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import psycopg
import yaml

from tickets.errors import InvalidInput, NotFound
from tickets.sla import Limit, SlaPolicy, parse_limit
from tickets.taxonomy import Tier

KINDS = ("urgent_repair", "ordinary_repair", "enquiry")  # request kinds with clocks of their own
LIMITS = ("respond", "resolve")
SOURCE = "tickets/data/sla_profiles.yaml"


class ProfileError(ValueError):
    """A profiles file that cannot be used, naming the entry at fault."""


class UnknownProfile(InvalidInput):
    """A profile name that is not in the profiles file."""


@dataclass(frozen=True, slots=True)
class Clause:
    """One limit of a profile with what it means and where the handbook says so."""

    limit: Limit
    milestone: str  # on_site, plan, respond, progress, resolve, answer
    source: str  # handbook file and section


@dataclass(frozen=True, slots=True)
class SlaProfile:
    name: str
    title: str
    tiers: Mapping[Tier, SlaPolicy]
    kinds: Mapping[str, SlaPolicy]  # urgent_repair, ordinary_repair, enquiry
    clauses: Mapping[tuple[str, str], Clause]  # ("major" | "enquiry" …, "respond" | "resolve") -> its clause


@dataclass(frozen=True, slots=True)
class Profiles:
    default: str
    by_name: Mapping[str, SlaProfile]

    def get(self, name: str | None) -> SlaProfile:
        """The profile `name` (None: the default); UnknownProfile names the known ones."""
        if name is None:
            return self.by_name[self.default]
        if name not in self.by_name:
            raise UnknownProfile(f"no SLA profile {name!r}; the profiles are {', '.join(self.by_name)}")
        return self.by_name[name]


def _clause(entry: object, where: str) -> Clause:
    if not isinstance(entry, dict) or not {"limit", "milestone", "source"} <= set(entry):
        raise ProfileError(f"{where}: needs limit, milestone and source")
    try:
        limit = parse_limit(str(entry["limit"]))
    except ValueError as exc:
        raise ProfileError(f"{where}: {exc}") from None
    return Clause(limit, str(entry["milestone"]), str(entry["source"]))


def _profile(name: str, data: object, where: str) -> SlaProfile:
    if not isinstance(data, dict) or not isinstance(data.get("tiers"), dict) or not isinstance(data.get("kinds"),
                                                                                              dict):
        raise ProfileError(f"{where}: needs a title, 'tiers' and 'kinds'")
    clauses: dict[tuple[str, str], Clause] = {}
    for group, names in (("tiers", [t.value for t in Tier]), ("kinds", list(KINDS))):
        table = data[group]
        if set(table) != set(names):
            raise ProfileError(f"{where}.{group}: must give exactly {names}, not {sorted(table)}")
        for key in names:
            entry = table[key]
            if not isinstance(entry, dict) or set(entry) != set(LIMITS):
                raise ProfileError(f"{where}.{group}.{key}: must give respond and resolve")
            for limit in LIMITS:
                clauses[(key, limit)] = _clause(entry[limit], f"{where}.{group}.{key}.{limit}")

    def policy(key: str) -> SlaPolicy:
        return SlaPolicy(clauses[(key, "respond")].limit, clauses[(key, "resolve")].limit)

    return SlaProfile(name, str(data.get("title", name)), {t: policy(t.value) for t in Tier},
                      {k: policy(k) for k in KINDS}, clauses)


def parse_profiles(data: object, source: str = SOURCE) -> Profiles:
    """Profiles from a parsed YAML document; ProfileError names `source` and the entry at fault."""
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict) or not data["profiles"]:
        raise ProfileError(f"{source}: needs a 'profiles' mapping")
    by_name = {str(n): _profile(str(n), p, f"{source}: profiles.{n}") for n, p in data["profiles"].items()}
    default = str(data.get("default", ""))
    if default not in by_name:
        raise ProfileError(f"{source}: default {default!r} is not one of the profiles {list(by_name)}")
    return Profiles(default, by_name)


@cache
def default_profiles() -> Profiles:
    """The packaged profiles, loaded once."""
    text = resources.files("tickets").joinpath("data/sla_profiles.yaml").read_text(encoding="utf-8")
    return parse_profiles(yaml.safe_load(text))


# -- which profile a site runs on -------------------------------------------------------------------------------

# The profile a site runs on (NULL: the default), with whether the site exists.
_SITE_PROFILE = "SELECT sla_profile FROM sites WHERE id = %s"
# The profile of the site a unit is in.
_UNIT_PROFILE = """SELECT s.sla_profile FROM units u JOIN buildings b ON b.id = u.building_id
                   JOIN sites s ON s.id = b.site_id WHERE u.id = %s"""
# Switch a site's profile (tickets already open keep theirs); the profile it had before (NULL: the default).
_SET_SITE_PROFILE = """UPDATE sites s SET sla_profile = %s FROM (SELECT id, sla_profile FROM sites WHERE id = %s
                       FOR UPDATE) before WHERE s.id = before.id RETURNING before.sla_profile"""
# Who switched which site from what to what.
_AUDIT_SWITCH = """INSERT INTO audit_log (actor, action, subject, detail)
                   VALUES (%s, 'site.sla_profile', %s, jsonb_build_object('from', %s::text, 'to', %s::text))"""
# Every site with its chosen profile.
_SITES = "SELECT id, name, sla_profile FROM sites ORDER BY id"


def site_profile(conn: psycopg.Connection, site_id: str, profiles: Profiles | None = None) -> SlaProfile:
    """The profile site `site_id` runs on; NotFound for an unknown site."""
    row = conn.execute(_SITE_PROFILE, (site_id,)).fetchone()
    if row is None:
        raise NotFound(f"no site {site_id!r}; `forewarn tickets profile show` lists the sites")
    return (profiles or default_profiles()).get(row[0])


def unit_profile(conn: psycopg.Connection, unit_id: str, profiles: Profiles | None = None) -> SlaProfile:
    """The profile of the site unit `unit_id` is in (the default for an unknown unit: intake reports that)."""
    row = conn.execute(_UNIT_PROFILE, (unit_id,)).fetchone()
    return (profiles or default_profiles()).get(row[0] if row else None)


def set_site_profile(conn: psycopg.Connection, site_id: str, name: str, profiles: Profiles | None = None, *,
                     actor: str = "cli") -> None:
    """Run site `site_id` on profile `name` for the tickets it opens from now on (an audit row says who switched
    it from what)."""
    known = profiles or default_profiles()
    known.get(name)  # UnknownProfile before anything changes
    with conn.transaction():
        row = conn.execute(_SET_SITE_PROFILE, (name, site_id)).fetchone()
        if row is None:
            raise NotFound(f"no site {site_id!r}; `forewarn tickets profile show` lists the sites")
        conn.execute(_AUDIT_SWITCH, (actor, site_id, row[0] or known.default, name))


def site_profiles(conn: psycopg.Connection, profiles: Profiles | None = None) -> list[tuple[str, str, SlaProfile]]:
    """(site id, site name, its profile) for every site."""
    known = profiles or default_profiles()
    return [(str(i), str(n), known.get(p)) for i, n, p in conn.execute(_SITES)]
