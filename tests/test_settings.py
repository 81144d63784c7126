"""Settings: every variable read from the environment, one clear line for a bad one."""

import os
import subprocess
import sys

import pytest

from imagegen.settings import Settings, SettingsError, load_settings

BASE = {
    "DATABASE_URL": "postgresql://u@127.0.0.1:5432/db",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "SECRET_KEY": "k" * 40,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key in Settings.model_fields or key.upper() in {
            f.upper() for f in Settings.model_fields
        }:
            monkeypatch.delenv(key, raising=False)
    for key, value in BASE.items():
        monkeypatch.setenv(key, value)
    return monkeypatch


def test_reads_variables_and_pins_psycopg(env: pytest.MonkeyPatch) -> None:
    env.setenv("OPENAI_API_KEY", "sk-test")
    env.setenv("POLAR_SERVER", "production")
    env.setenv("APP_URL", "https://img.example.com/")
    settings = load_settings()
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1:5432/db"
    assert settings.openai_enabled and not settings.imagekit_enabled
    assert settings.polar_server == "production"
    assert settings.app_url == "https://img.example.com"
    assert settings.secure_cookies


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DATABASE_URL", None, "Invalid setting DATABASE_URL: is not set"),
        (
            "DATABASE_URL",
            "mysql://x/y",
            "Invalid setting DATABASE_URL: must be a postgresql:// URL",
        ),
        ("REDIS_URL", "http://nope", "Invalid setting REDIS_URL"),
        ("SECRET_KEY", "short", "Invalid setting SECRET_KEY"),
        ("PORT", "eighty", "Invalid setting PORT"),
        ("POLAR_SERVER", "staging", "Invalid setting POLAR_SERVER"),
    ],
)
def test_bad_value_names_the_variable(
    env: pytest.MonkeyPatch, name: str, value: str | None, expected: str
) -> None:
    if value is None:
        env.delenv(name)
    else:
        env.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_app_start_fails_with_one_line(env: pytest.MonkeyPatch) -> None:
    env.delenv("REDIS_URL")
    result = subprocess.run(
        [sys.executable, "-c", "import rxconfig"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "Invalid setting REDIS_URL: is not set (see .env.example)"


def test_env_example_documents_every_variable() -> None:
    with open(".env.example") as handle:
        documented = {line.split("=", 1)[0].lstrip("# ").strip() for line in handle if "=" in line}
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f".env.example does not document {sorted(missing)}"
