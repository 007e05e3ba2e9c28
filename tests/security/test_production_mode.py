"""Issue 16, point 2: "production" that wasn't. Before: only the exact string `production` turned the checks on, so
`Production`, `prod` or a trailing space started with none; `/preview/token` minted admin tokens signed with the
real client secret in development; the web process bound 0.0.0.0; a proxy on the host made /metrics public."""
from __future__ import annotations

from dataclasses import replace

import jwt
import pytest

from service import create_app
from service.__main__ import main
from service.config import ConfigError, Settings
from service.ops.processes import gunicorn_options
from tests.unit.test_config import PRODUCTION

REAL = {"AMOCRM_CLIENT_ID": "8d3c1f6e-0000-4000-8000-00000000abcd", "AMOCRM_CLIENT_SECRET": "real-secret-" * 4}


@pytest.mark.parametrize("name", ["Production", "prod", "production ", "PRODUCTION", "staging", "dev", "test"])
def test_an_unknown_environment_name_refuses_to_start(name):
    with pytest.raises(ConfigError, match="DEAL_PULSE_ENV"):
        Settings.from_env({**PRODUCTION, "DEAL_PULSE_ENV": name})


def test_the_processes_say_why_they_refuse(monkeypatch, capsys):
    monkeypatch.setenv("DEAL_PULSE_ENV", "Production")
    assert main(["web"]) == 2
    assert "DEAL_PULSE_ENV='Production' is not one of development, demo, production" in capsys.readouterr().err


def test_the_demo_environment_refuses_real_credentials():
    with pytest.raises(ConfigError, match="demo"):
        Settings.from_env({"DEAL_PULSE_ENV": "demo", **REAL})


@pytest.mark.parametrize("overrides", [{"env": "development"}, {"env": "development", "client_id": REAL[
    "AMOCRM_CLIENT_ID"], "client_secret": REAL["AMOCRM_CLIENT_SECRET"]}, {"env": "production"}])
def test_no_preview_and_no_token_minting_outside_the_demo(deps, account, overrides):
    deps.settings = replace(deps.settings, **overrides)
    client = create_app(deps=deps).test_client()
    for path in ("/preview/token?account=16700680&user=1&admin=1", "/preview/card", "/preview/panel"):
        assert client.get(path).status_code == 404


def test_the_demo_preview_mints_with_the_public_development_secret_only(deps, account):
    deps.settings = replace(deps.settings, env="demo")
    token = create_app(deps=deps).test_client().get("/preview/token?account=16700680&user=1").json["token"]
    assert jwt.decode(token, Settings().client_secret, algorithms=["HS256"], options={"verify_aud": False})


def test_outside_production_the_web_process_binds_loopback():
    assert gunicorn_options(Settings.from_env({}))["bind"] == "127.0.0.1:5000"
    assert gunicorn_options(Settings.from_env({**REAL}))["bind"] == "127.0.0.1:5000"
    assert gunicorn_options(Settings.from_env({"BIND_HOST": "0.0.0.0"}))["bind"] == "0.0.0.0:5000"
    assert gunicorn_options(Settings.from_env({**PRODUCTION, "PORT": "8080"}))["bind"] == "0.0.0.0:8080"


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP", "Via"])
def test_metrics_without_a_token_refuse_loopback_callers_that_came_through_a_proxy(deps, header):
    deps.settings = replace(deps.settings, metrics_token="")
    client = create_app(deps=deps).test_client()
    assert client.get("/metrics").status_code == 200  # a local scrape, straight to the web process
    assert client.get("/metrics", headers={header: "for=203.0.113.9"}).status_code == 403


def test_metrics_without_a_token_refuse_everyone_behind_configured_proxies(deps):
    deps.settings = replace(deps.settings, metrics_token="", forwarded_hops=1)
    assert create_app(deps=deps).test_client().get("/metrics").status_code == 403
