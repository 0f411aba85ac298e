"""The settings checks live connectors share, and credentials as Settings hands them to connectors."""

from __future__ import annotations

import pytest

from watchfloor.config import Settings
from watchfloor.connectors.live.settings import (
    env_name,
    flag,
    known_settings,
    number,
    secret,
    whole_number,
)
from watchfloor.domain.errors import ConfigError, Permanent


def test_the_messages_operators_read_say_the_kind_the_key_and_what_it_takes() -> None:
    with pytest.raises(ConfigError, match=r"^reddit: limit must be a whole number, got 'lots'$"):
        whole_number("reddit", "lots", "limit", 1, 100)
    with pytest.raises(ConfigError, match=r"^reddit: limit must be from 1 to 100, got 500$"):
        whole_number("reddit", "500", "limit", 1, 100)
    with pytest.raises(ConfigError, match=r"^x: max_seconds must be at least 0\.01, got 0$"):
        number("x", 0, "max_seconds", 0.01)
    with pytest.raises(ConfigError, match=r"^x: max_seconds must be from 0\.01 to 60\.0, got '61'$"):
        number("x", "61", "max_seconds", 0.01, 60.0)
    with pytest.raises(ConfigError, match=r"^x: unknown setting\(s\) colour; known: a, b$"):
        known_settings("x", {"a": 1, "every": 60, "colour": "red"}, ("a", "b"), ignored=("every",))
    with pytest.raises(ConfigError, match="never the token itself"):
        env_name("x", {"token_env": "abc123"}, "token_env", required="a name", holds="the token")
    assert whole_number("x", "50", "limit", 1, 100) == 50
    assert number("x", "2.5", "gap", 0) == 2.5


def test_a_flag_takes_words_only_where_asked() -> None:
    assert flag("x", "off", "compress", words=True) is False
    assert flag("x", False, "comments") is False
    with pytest.raises(ConfigError, match="comments must be true or false, got 'yes'"):
        flag("x", "yes", "comments")


def test_a_missing_secret_names_the_variable_and_what_it_holds() -> None:
    with pytest.raises(Permanent, match=r"^x: the environment variable X_KEY \(the client key\) is not set"):
        secret("x", {"X_KEY": ""}, "X_KEY", "client key")
    with pytest.raises(ConfigError, match="X_KEY"):
        secret("x", {}, "X_KEY", "API key", error=ConfigError)
    assert secret("x", {"X_KEY": "k"}, "X_KEY", "client key") == "k"


def test_settings_snapshot_the_environment_once_and_never_show_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHFLOOR_TEST_SECRET", "s3cr3t-value")
    monkeypatch.setenv("WATCHFLOOR_CREDENTIALS", '{"OTHER": "x"}')  # not a setting: ignored
    settings = Settings()
    monkeypatch.setenv("WATCHFLOOR_TEST_LATER", "too late")
    assert settings.credentials.get("WATCHFLOOR_TEST_SECRET") == "s3cr3t-value"
    assert settings.credentials.get("WATCHFLOOR_TEST_LATER") is None
    assert settings.credentials.get("OTHER") is None
    shown = repr(settings) + repr(settings.credentials) + settings.model_dump_json()
    assert "s3cr3t-value" not in shown
    assert "credentials" not in settings.model_dump()
