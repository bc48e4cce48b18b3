"""The lifecycle's settings from a config file's tables and from the environment, and the errors an operator gets
for a mistake in them: an unknown tier or limit, a duration of zero or less, an unknown time zone."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path

import pytest

from forewarn.configs import ticket_config
from forewarn.settings import SettingsError, load_settings
from tickets.classify import Tier
from tickets.sla import Limit, Unit

README_EXAMPLE = """\
timezone = "Asia/Shanghai"
quiet_hours_start = "22:30"
[sla.major]
on_site = "10 min"
plan = "12 h"
[sla.complex]
resolve = "10 working days"
"""


def write(tmp_path: Path, text: str, name: str = "forewarn.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_readme_config_file_reaches_the_ticket_config(tmp_path):
    config = ticket_config(load_settings(write(tmp_path, README_EXAMPLE), environ={}))
    assert config.quiet_start == time(22, 30)
    assert config.sla_limits[(Tier.MAJOR, "respond")] == Limit(10, Unit.MINUTES)
    assert config.sla_limits[(Tier.MAJOR, "resolve")] == Limit(12 * 60, Unit.MINUTES)
    assert config.sla_limits[(Tier.COMPLEX, "resolve")] == Limit(10, Unit.WORKING_DAYS)
    assert (Tier.GENERAL, "resolve") not in config.sla_limits  # untouched: each site's profile decides
    assert config.policy("facility", "general").resolve == Limit(3, Unit.WORKING_DAYS)  # the default profile's
    assert config.policy("facility", "major").respond.span == timedelta(minutes=10)
    assert config.policy("facility", "major", "003").respond.span == timedelta(minutes=10)  # on every profile
    assert config.policy("billing", "complex", "003").respond == Limit(72 * 60, Unit.MINUTES)  # the profile's


def test_yaml_tables_and_the_environment_winning_over_the_file(tmp_path):
    path = write(tmp_path, "sla:\n  general:\n    respond: 4 h\n    resolve: 2 working days\n", "forewarn.yaml")
    settings = load_settings(path, environ={"FOREWARN_SLA_GENERAL_RESPOND": "2 h"})
    assert (settings.sla_general_respond, settings.sla_general_resolve) == ("2 h", "2 working days")


@pytest.mark.parametrize(("text", "message"), [
    ('[sla.urgent]\nrespond = "5 min"\n', r"\[sla.urgent\] is not a tier; the tiers are major, general, complex"),
    ('[sla.major]\nfix = "5 min"\n', r"\[sla.major\] fix: unknown limit"),
    ('[sla.major]\nrespond = "-5 min"\n', "sla_major_respond: .*must be longer than zero"),
    ('[sla.major]\nrespond = "soon"\n', "sla_major_respond: .*not a duration"),
    ('sla = "fast"\n', "sla must be a table of tiers"),
    ('timezone = "Mars/Olympus"\n', "timezone: .*unknown time zone 'Mars/Olympus'"),
    ("fold_window_hours = -1\n", "fold_window_hours: .*greater than 0"),
    ('quiet_hours_end = "25:00"\n', "quiet_hours_end"),
])
def test_a_mistake_in_the_config_file_is_named(tmp_path, text, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(write(tmp_path, text), environ={})


def test_a_mistyped_sla_variable_is_an_error_not_a_silent_default():
    with pytest.raises(SettingsError, match="FOREWARN_SLA_MAJR_RESPOND is not a setting"):
        load_settings(environ={"FOREWARN_SLA_MAJR_RESPOND": "5 min"})
