"""Hostile input on the widget API and the webhook endpoint: oversized and deeply nested bodies, ids that are not
numbers, wrong content types, invalid JSON and encodings. Every answer is a 4xx `{"error", "message"}` (never a
5xx, never an HTML page), and a refused request changes nothing: the settings stay, the inbox stays.

(Random webhook bodies are fuzzed in tests/integration/test_intake_fuzz.py; the schema-driven API run is
test_openapi_schemathesis.py; token attacks are test_widget_tokens.py.)"""
from __future__ import annotations

import io
import json

import pytest

from service.services.hook_urls import hook_secret
from service.web.api import MAX_BODY_BYTES, MAX_DEPTH
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, call, install_world
from tests.support.samples import webhook_bodies

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
BODY_ROUTES = [("PUT", "/settings"), ("PUT", "/plans"), ("POST", "/leads/101/hints/no_open_task/feedback"),
               ("POST", "/leads/101/tasks")]


def nested(depth: int, leaf="1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


@pytest.fixture
def world(deps):
    install_world(deps)


def refused(reply, *statuses) -> dict:
    """A 4xx JSON error naming the problem."""
    text = reply.get_data(as_text=True)
    assert 400 <= reply.status_code < 500, (reply.status_code, text[:300])
    assert not statuses or reply.status_code in statuses, (reply.status_code, text[:300])
    assert reply.mimetype == JSON, text[:300]
    assert set(reply.json) >= {"error", "message"} and reply.json["message"], reply.json
    return reply.json


# ---- the widget API ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, path", BODY_ROUTES)
@pytest.mark.parametrize("size", [MAX_BODY_BYTES + 1, 1_500_000], ids=["over-api-limit", "over-app-limit"])
def test_an_oversized_json_body_is_413_with_the_limit_named(client, settings, world, deps, method, path, size):
    before = deps.store.read_insight(ACCOUNT.id, "settings")
    data = json.dumps({"comment": "x" * size, "no_activity_days": 5, "action": "dismiss", "month": "2025-10"})
    error = refused(call(client, settings, method, path, ADMIN, data=data, content_type=JSON), 413)
    assert error["error"] == "payload_too_large" and str(MAX_BODY_BYTES) in error["message"]
    assert deps.store.read_insight(ACCOUNT.id, "settings") == before


def test_a_body_without_content_length_is_cut_at_the_limit(client, settings, world, deps):
    """Chunked transfer: no Content-Length to refuse up front; reading stops at the limit."""
    data = json.dumps({"no_activity_days": 5, "pad": "x" * (MAX_BODY_BYTES * 2)}).encode()
    reply = call(client, settings, "PUT", "/settings", ADMIN, input_stream=io.BytesIO(data),
                 headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"},
                 environ_overrides={"wsgi.input_terminated": True})
    refused(reply, 413)
    assert deps.store.read_insight(ACCOUNT.id, "settings").get("no_activity_days") is None


def test_a_body_just_under_the_limit_is_accepted(client, settings, world):
    data = json.dumps({"no_activity_days": 5, "pad": "x" * (MAX_BODY_BYTES - 100)})
    assert len(data) <= MAX_BODY_BYTES
    reply = call(client, settings, "PUT", "/settings", ADMIN, data=data, content_type=JSON)
    assert reply.status_code == 200 and reply.json["no_activity_days"] == 5


DEEP = {
    "just-over-the-limit": nested(MAX_DEPTH + 1),
    "past-the-decoder's-recursion": nested(5_000),
    "arrays": "[" * 30_000 + "]" * 30_000,
    "inside-a-real-field": json.dumps({"stage_overrides": {"11": {"warn_days": json.loads(nested(40))}}}),
    "unclosed": "[" * 30_000,
}


@pytest.mark.parametrize("method, path", BODY_ROUTES)
@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_deeply_nested_json_is_400(client, settings, world, deps, method, path, body):
    before = deps.store.read_insight(ACCOUNT.id, "settings")
    refused(call(client, settings, method, path, ADMIN, data=body, content_type=JSON), 400)
    assert deps.store.read_insight(ACCOUNT.id, "settings") == before


def test_nesting_up_to_the_limit_is_read_and_ignored(client, settings, world):
    """Unknown fields are ignored (tolerant reader), however nested, within the limit."""
    body = json.dumps({"no_activity_days": 6, "extra": json.loads(nested(MAX_DEPTH - 1))})
    reply = call(client, settings, "PUT", "/settings", ADMIN, data=body, content_type=JSON)
    assert reply.status_code == 200 and reply.json["no_activity_days"] == 6


NOT_JSON = {
    "truncated": ("{", JSON), "python-dict": ("{'no_activity_days': 5}", JSON), "trailing-garbage": ('{}x', JSON),
    "not-utf8": (b"\xff\xfe{\x00}", JSON), "bare-nan": ("NaN", JSON), "null": ("null", JSON),
    "array": ("[1, 2]", JSON), "string": ('"x"', JSON),
    "text-plain": ('{"no_activity_days": 5}', "text/plain"), "form": ("no_activity_days=5", FORM),
    "multipart": ("--x\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--x--",
                  "multipart/form-data; boundary=x"),
    "no-content-type": ('{"no_activity_days": 5}', None), "xml": ("<a>1</a>", "application/xml"),
}
# Numbers JSON cannot hold or no field accepts, each in a field of the route that reads it.
FIELD = {"/settings": '{"no_activity_days": %s}', "/plans": '{"month": "2025-10", "amount": %s}',
         "/leads/101/hints/no_open_task/feedback": '{"action": "snooze", "until": %s}',
         "/leads/101/tasks": '{"due": %s}'}
BAD_NUMBERS = {"nan": "NaN", "infinity": "Infinity", "overflow": "1e999", "huge-int": "9" * 4000,
               "string": '"5"x', "object": '{"$gt": 0}'}


@pytest.mark.parametrize("method, path", BODY_ROUTES)
@pytest.mark.parametrize("body, content_type", NOT_JSON.values(), ids=NOT_JSON.keys())
def test_invalid_json_and_wrong_content_types_are_400(client, settings, world, deps, method, path, body,
                                                      content_type):
    before = deps.store.read_insight(ACCOUNT.id, "settings")
    headers = {"Content-Type": content_type} if content_type else {}
    refused(call(client, settings, method, path, ADMIN, data=body, headers=headers), 400)
    assert deps.store.read_insight(ACCOUNT.id, "settings") == before


@pytest.mark.parametrize("method, path", BODY_ROUTES)
@pytest.mark.parametrize("number", BAD_NUMBERS.values(), ids=BAD_NUMBERS.keys())
def test_numbers_no_field_accepts_are_400(client, settings, world, deps, method, path, number):
    before = deps.store.read_insight(ACCOUNT.id, "settings")
    body = FIELD[path] % number
    refused(call(client, settings, method, path, ADMIN, data=body, content_type=JSON), 400)
    assert deps.store.read_insight(ACCOUNT.id, "settings") == before


NOT_IDS = ["abc", "-1", "1.5", "1e3", "0x10", "%00", "%F0%9F%92%A9", "1%20OR%201=1", "٣", "²", "9" * 300]


@pytest.mark.parametrize("lead_id", NOT_IDS)
@pytest.mark.parametrize("method, template", [("GET", "/leads/{}/hints"), ("POST", "/leads/{}/tasks"),
                                              ("POST", "/leads/{}/hints/no_open_task/feedback"),
                                              ("DELETE", "/leads/{}/hints/no_open_task/feedback")])
def test_lead_ids_that_are_not_numbers(client, settings, world, method, template, lead_id):
    """The router refuses what is not digits (404); digits too long for any deal are simply not found or empty."""
    reply = call(client, settings, method, template.format(lead_id), ADMIN, json={"action": "dismiss"})
    if lead_id.isdigit():
        assert reply.status_code < 500 and (reply.status_code < 400 or refused(reply))
    else:
        refused(reply, 404)


@pytest.mark.parametrize("status_id", ["٣", "11\n", "-1", "1e3", "x" * 13, "9" * 13])
def test_stage_ids_that_are_not_numbers_are_400(client, settings, world, deps, status_id):
    before = deps.store.read_insight(ACCOUNT.id, "settings")
    body = {"stage_overrides": {status_id: {"warn_days": 3}}}
    error = refused(call(client, settings, "PUT", "/settings", ADMIN, json=body), 400)
    assert "stage_overrides" in error["fields"]
    assert deps.store.read_insight(ACCOUNT.id, "settings") == before


@pytest.mark.parametrize("user", ["abc", "-1", "1.5", "%00", "me2", "9" * 13, "٣", "1%3B2"])
def test_manager_ids_that_are_not_numbers_are_400(client, settings, world, user):
    refused(call(client, settings, "GET", f"/managers/{user}", ADMIN), 400)


@pytest.mark.parametrize("code", ["%00", "x" * 5000, "%F0%9F%92%A9", "..%2F..%2Fadmin", "no_open_task%0d%0aX: y"])
def test_hostile_hint_codes_are_not_found(client, settings, world, code):
    refused(call(client, settings, "POST", f"/leads/101/hints/{code}/feedback", ADMIN, json={"action": "dismiss"}),
            404)


@pytest.mark.parametrize("query", ["limit=abc", "limit=0", "limit=1e9", "limit=" + "9" * 400, "scope=%3Cscript%3E",
                                   "scope=" + "x" * 10_000])
def test_hostile_attention_queries_are_400(client, settings, world, query):
    refused(call(client, settings, "GET", f"/attention?{query}", ADMIN), 400)


@pytest.mark.parametrize("month", ["9999-99", "2025-13", "%00", "2025-1", "x" * 10_000, "2025-10%0a", "٢٠٢٥-10"])
def test_hostile_months_are_400(client, settings, world, month):
    refused(call(client, settings, "GET", f"/plans?month={month}", ADMIN), 400)


@pytest.mark.parametrize("token", ["x" * 100_000, "a.b.c", "\u00e9\u00e9", "Bearer " + "y" * 50])
def test_a_garbage_token_is_401(client, world, token):
    refused(client.get("/api/v1/me", headers={"X-Auth-Token": token}), 401)


# ---- the webhook endpoint ------------------------------------------------------------------------------------------
@pytest.fixture
def hook(deps, world):
    return f"/hooks/{ACCOUNT.id}/{hook_secret(deps.settings.secret_key, ACCOUNT.id)}"


def stored(deps) -> int:
    return deps.store.inbox_length(ACCOUNT.id)


def test_an_oversized_webhook_is_413_and_not_stored(client, deps, hook):
    limit = deps.settings.max_webhook_bytes
    body = "leads[status][0][id]=101&pad=" + "x" * limit
    error = refused(client.post(hook, data=body, content_type=FORM), 413)
    assert str(limit) in error["message"] and stored(deps) == 0


def test_an_oversized_chunked_webhook_is_413_and_not_stored(client, deps, hook):
    """No Content-Length: werkzeug would hand over the first `limit` bytes as if they were the whole body (a valid
    webhook here, cut short); the hook must refuse it instead of storing it truncated."""
    valid = webhook_bodies("status_lead_modern.txt")[0]
    body = valid + b"&pad=" + b"x" * deps.settings.max_webhook_bytes
    reply = client.post(hook, input_stream=io.BytesIO(body), headers={"Content-Type": FORM,
                                                                      "Transfer-Encoding": "chunked"},
                        environ_overrides={"wsgi.input_terminated": True})
    refused(reply, 413)
    assert stored(deps) == 0


def test_a_valid_chunked_webhook_is_stored(client, deps, hook):
    """The control for the hostile cases below: the same hook takes a real body, with or without Content-Length."""
    valid = webhook_bodies("status_lead_modern.txt")[0]
    assert client.post(hook, data=valid, content_type=FORM).status_code == 204
    reply = client.post(hook, input_stream=io.BytesIO(valid), headers={"Content-Type": FORM,
                                                                       "Transfer-Encoding": "chunked"},
                        environ_overrides={"wsgi.input_terminated": True})
    assert reply.status_code == 204 and stored(deps) == 2


@pytest.mark.parametrize("content_type", [JSON, "text/plain", "multipart/form-data; boundary=x", "application/xml",
                                          None])
def test_a_webhook_of_another_content_type_is_415(client, deps, hook, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    refused(client.post(hook, data="leads[status][0][id]=101", headers=headers), 415)
    assert stored(deps) == 0


HOSTILE_FORMS = {
    "deep-keys": "account[id]=16700680&leads[status][0]" + "[a]" * 20_000 + "=1",
    "deep-brackets": "account[id]=16700680&" + "[" * 50_000 + "=1",
    "id-not-a-number": "account[id]=16700680&leads[status][0][id]=abc&leads[status][0][status_id]=x",
    "index-not-a-number": "account[id]=16700680&leads[status][abc][id]=101",
    "account-not-a-number": "account[id]=abc&leads[status][0][id]=101",
    "not-utf8": b"account[id]=16700680&leads[status][0][name]=\xff\xfe",
    "binary": bytes(range(256)),
    "percent-garbage": "%%%%%=%%%&&&==",
    "many-keys": "account[id]=16700680&" + "&".join(f"k{i}=1" for i in range(20_000)),
    "empty": "",
}


@pytest.mark.parametrize("body", HOSTILE_FORMS.values(), ids=HOSTILE_FORMS.keys())
def test_hostile_webhook_bodies_are_4xx_and_not_stored(client, deps, hook, body):
    reply = client.post(hook, data=body, content_type=FORM)
    refused(reply)
    assert stored(deps) == 0


@pytest.mark.parametrize("path", ["/hooks/abc/secret", "/hooks/-1/secret", "/hooks/1e3/x", "/hooks/%00/x",
                                  f"/hooks/{ACCOUNT.id}/" + "s" * 5000, f"/hooks/{ACCOUNT.id}/%00",
                                  f"/hooks/{ACCOUNT.id}/%C3%A9", f"/hooks/{ACCOUNT.id}/%FF", f"/hooks/0{ACCOUNT.id}/x",
                                  "/hooks/" + "9" * 5000 + "/x", "/hooks/%D9%A1/x"])
def test_hostile_hook_paths_are_4xx(client, deps, world, path):
    refused(client.post(path, data="leads[status][0][id]=101", content_type=FORM), 403, 404)
    assert stored(deps) == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_hook_called_with_another_method_is_405(client, deps, hook, method):
    valid = webhook_bodies("status_lead_modern.txt")[0]
    reply = client.open(hook, method=method, data=valid, content_type=FORM)
    assert refused(reply, 405)["error"] == "method_not_allowed" and reply.headers["Allow"] == "POST"
    assert stored(deps) == 0
