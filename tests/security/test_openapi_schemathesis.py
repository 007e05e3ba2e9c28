"""Schemathesis against /api/v1/openapi.json, through the Flask app in-process (WSGI, no network).

Every generated call carries a fresh one-time widget token of a supervisor (the account admin) of an installed
account holding deals, cards, users and plans (`tests.support.api.install_world`). Path parameters are steered half
of the time onto things that exist (a mirrored deal, a hint code on it, a real user), so the happy paths are
exercised too, not only 404s. amoCRM (the task endpoint's one outgoing call) is mocked at the wire by `responses`.

Checked for every response: never a 5xx; the status code is one the description lists for the operation; the
content type and the body match the documented schema (errors included: `{"error", "message"}`)."""
from __future__ import annotations

import pytest
import responses
import schemathesis
from hypothesis import HealthCheck, given, settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.web.openapi import spec
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, CARDS, LEADS, NOW, USERS, install_world
from tests.support.tokens import mint_token

MAX_EXAMPLES = 10  # per operation and mode: ~20 s for the whole file
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
TASKS_URL = f"{ACCOUNT.origin}/api/v4/tasks"
CREATED = {"_embedded": {"tasks": [{"id": 4711, "request_id": "0"}]}}
LEAD_IDS = [lead.id for lead in LEADS]
USER_IDS = [str(user.id) for user in USERS] + ["me"]


@pytest.fixture
def api_schema(app, deps, settings):
    """The description served by the app, with a token minted per call and path parameters steered to real data."""
    install_world(deps)
    TokenKeeper(deps.store, settings, None, deps.clock).save(ACCOUNT.id, TokenPair("access-1", "refresh-1",
                                                                                   NOW + 3600))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    @schema.auth(refresh_interval=None)  # widget tokens are single-use: never cache one
    class WidgetToken:
        def get(self, case, context):
            return mint_token(settings, ACCOUNT, ADMIN.id)

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "X-Auth-Token": data}

    @schema.hook
    def map_path_parameters(context, path_parameters):
        return steer(path_parameters)

    return schema


def steer(params):
    """Deterministically move about half of the generated values onto existing deals (with one of their hint
    codes) and users; the other half stays as generated."""
    if not params:
        return params
    params = dict(params)
    lead_id = params.get("lead_id")
    if isinstance(lead_id, int) and lead_id % 2 == 0:
        params["lead_id"] = LEAD_IDS[(lead_id // 2) % len(LEAD_IDS)]
        codes = [h["code"] for h in CARDS[params["lead_id"]]["hints"]]
        code = params.get("code")
        if isinstance(code, str) and codes and len(code) % 2 == 0:
            params["code"] = codes[len(code) // 2 % len(codes)]
    user = params.get("user")
    if isinstance(user, str) and len(user) % 2 == 0:
        params["user"] = USER_IDS[len(user) // 2 % len(USER_IDS)]
    return params


@pytest.fixture
def amocrm():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(TASKS_URL, json=CREATED)
        yield mock


# The operations, read from the description itself (schemathesis's own pytest loader breaks on pytest 9: it writes
# `request.node._nodeid`, which pytest 9 no longer has), so a new endpoint is tested without touching this file.
# Negative cases need something to break: parameters, a body or the token; /openapi.json has none of them.
OPERATIONS = [pytest.param(path, method.upper(), mode, id=f"{mode.value}-{method.upper()} {path}")
              for path, ops in spec()["paths"].items() for method, op in ops.items()
              for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
              if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody") or op["security"]]


@pytest.mark.parametrize("path, method, mode", OPERATIONS)
def test_api_conforms_to_its_description(api_schema, amocrm, path, method, mode):
    operation = api_schema[path][method]
    statuses = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(checks=CHECKS)
        statuses.append(response.status_code)

    run()
    if mode is GenerationMode.POSITIVE and path != "/openapi.json":
        assert 401 not in statuses, "a fresh supervisor token was refused"
        assert any(200 <= status < 300 for status in statuses), f"no call succeeded: {statuses}"

