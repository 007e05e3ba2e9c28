"""Production mode refuses to start on a missing or weak setting, naming the variable; demo mode is decided once."""
import pytest
from cryptography.fernet import Fernet

from service.config import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_SECRET_KEY, ConfigError, Settings

PRODUCTION = {"DEAL_PULSE_ENV": "production", "AMOCRM_CLIENT_ID": "8d3c1f6e-0000-4000-8000-00000000abcd",
              "AMOCRM_CLIENT_SECRET": "s" * 64, "AMOCRM_REDIRECT_URI": "https://dp.example/oauth/callback",
              "PUBLIC_URL": "https://dp.example", "SECRET_KEY": "k" * 48,
              "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "REDIS_URL": "redis://redis.internal:6379/0",
              "METRICS_TOKEN": "m" * 32}


def test_a_complete_production_environment_starts():
    settings = Settings.from_env(PRODUCTION)
    assert settings.env == "production" and not settings.is_demo and not settings.serves_preview


@pytest.mark.parametrize("variable", ["AMOCRM_CLIENT_ID", "AMOCRM_CLIENT_SECRET", "PUBLIC_URL", "SECRET_KEY",
                                      "TOKEN_ENCRYPTION_KEYS", "REDIS_URL", "METRICS_TOKEN"])
def test_production_names_each_missing_variable(variable):
    env = {k: v for k, v in PRODUCTION.items() if k != variable}
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env(env)


@pytest.mark.parametrize("variable, value", [
    ("SECRET_KEY", DEV_SECRET_KEY), ("SECRET_KEY", "short-secret"), ("AMOCRM_CLIENT_ID", DEV_CLIENT_ID),
    ("AMOCRM_CLIENT_SECRET", DEV_CLIENT_SECRET), ("PUBLIC_URL", "http://dp.example"),
    ("AMOCRM_REDIRECT_URI", "http://dp.example/oauth/callback"), ("METRICS_TOKEN", "short"),
    ("REDIS_URL", "localhost:6379"), ("AMOCRM_RPS", "10"), ("AMOCRM_API_BASE", "http://127.0.0.1:8100"),
    ("LOG_FORMAT", "xml"), ("REDIS_CLUSTER_URL", "node1:7000"),
])
def test_production_names_each_weak_value(variable, value):
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({**PRODUCTION, variable: value})


def test_a_bad_encryption_key_is_named_without_echoing_it():
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEYS") as info:
        Settings.from_env({**PRODUCTION, "TOKEN_ENCRYPTION_KEYS": "my-secret-not-a-key"})
    assert "my-secret-not-a-key" not in str(info.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as info:
        Settings.from_env({"DEAL_PULSE_ENV": "production"})
    for variable in ("SECRET_KEY", "AMOCRM_CLIENT_ID", "PUBLIC_URL", "REDIS_URL", "METRICS_TOKEN"):
        assert variable in str(info.value)


def test_a_number_that_is_not_one_is_named():
    with pytest.raises(ConfigError, match="WEB_CONCURRENCY"):
        Settings.from_env({"WEB_CONCURRENCY": "many"})


def test_without_amocrm_credentials_make_run_is_the_demo():
    assert Settings.from_env({}).is_demo
    assert Settings.from_env({"AMOCRM_CLIENT_ID": DEV_CLIENT_ID}).is_demo


def test_credentials_or_an_api_base_mean_no_demo():
    assert not Settings.from_env({"AMOCRM_CLIENT_ID": "8d3c1f6e-0000-4000-8000-00000000abcd"}).is_demo
    assert not Settings.from_env({"AMOCRM_API_BASE": "http://127.0.0.1:8100"}).is_demo


def test_only_the_demo_serves_the_preview():
    """Issue 16: was 'development serves the preview' — it minted tokens with real credentials too."""
    assert Settings.from_env({"DEAL_PULSE_ENV": "demo"}).serves_preview
    assert not Settings.from_env({}).serves_preview
