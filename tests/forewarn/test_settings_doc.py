"""The README's settings table is the code's: every setting, its default and its meaning, and nothing else."""

import re
from pathlib import Path

import pytest

from forewarn.settings import SettingsError, describe_settings, load_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_setting_with_its_default():
    rows = re.findall(r"^\| `(FOREWARN_[A-Z_0-9]+)` \| (.+?) \| (.+?) \|$", README.read_text(), re.M)
    documented = {name: (default.strip("`"), text) for name, default, text in rows}
    expected = {name: (default, text) for name, default, text in describe_settings()}
    assert documented == expected


def test_production_refuses_the_placeholder_secret():
    with pytest.raises(SettingsError, match="secret"):
        load_settings(environ={"FOREWARN_MODE": "production", "FOREWARN_DATABASE_URL": "postgresql://x/y"})


def test_a_config_file_is_read_and_the_environment_wins(tmp_path):
    config = tmp_path / "forewarn.toml"
    config.write_text('api_port = 9001\nlog_level = "DEBUG"\n')
    settings = load_settings(config, environ={"FOREWARN_API_PORT": "9002"})
    assert (settings.api_port, settings.log_level) == (9002, "DEBUG")


def test_a_broken_config_file_is_a_clear_error(tmp_path):
    config = tmp_path / "forewarn.toml"
    config.write_text("api_port = = 1\n")
    with pytest.raises(SettingsError, match="forewarn.toml"):
        load_settings(config, environ={})


PRODUCTION = {"FOREWARN_MODE": "production", "FOREWARN_DATABASE_URL": "postgresql://x/y",
              "FOREWARN_SECRET_KEY": "k" * 32, "FOREWARN_MQTT_USERNAME": "forewarn-platform",
              "FOREWARN_MQTT_PASSWORD": "pw"}


def test_production_accepts_a_32_byte_secret_and_a_broker_account():
    settings = load_settings(environ={**PRODUCTION, "FOREWARN_MQTT_URL": "mqtt://broker:1883",
                                      "FOREWARN_MQTT_USERNAME": "forewarn-platform", "FOREWARN_MQTT_PASSWORD": "pw"})
    assert settings.mqtt_username == "forewarn-platform"


@pytest.mark.parametrize("secret", ["x", "k" * 31, "密" * 10])  # 10 CJK characters are 30 bytes
def test_production_refuses_a_secret_shorter_than_32_bytes(secret):
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings(environ={**PRODUCTION, "FOREWARN_SECRET_KEY": secret})


@pytest.mark.parametrize("broker", [{"FOREWARN_MQTT_URL": "mqtt://broker:1883"}, {}], ids=["own", "embedded"])
def test_production_refuses_an_anonymous_broker(broker):
    environ = {**PRODUCTION, **broker}
    del environ["FOREWARN_MQTT_USERNAME"], environ["FOREWARN_MQTT_PASSWORD"]
    with pytest.raises(SettingsError, match="anonymous broker.*FOREWARN_MQTT_USERNAME"):
        load_settings(environ=environ)


def test_development_keeps_its_short_defaults():
    assert load_settings(environ={}).secret_key == "change-me"
