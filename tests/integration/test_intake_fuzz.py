"""Property tests of the webhook endpoint over random and malformed bodies (hypothesis, real Redis).

Whatever arrives: never a 5xx; a 2xx only once the body is in the inbox (exactly one entry more); a 4xx names the
problem in `{"error", "message"}` and stores and queues nothing.
"""
from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qsl, quote, urlencode

import pytest
from hypothesis import HealthCheck, event, example, given, settings as hsettings, strategies as st
from werkzeug.http import parse_options_header

from service import create_app
from service.config import Settings
from service.services.hook_urls import hook_secret
from tests.conftest import ACCOUNT
from tests.support.samples import webhook_bodies

FORM = "application/x-www-form-urlencoded"
LIMIT = 4096  # a small body limit so that generated bodies can cross it
RUN = hsettings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SAMPLES = [body for name in ("leads_add_update_delete_2025_raw.txt", "status_lead_modern.txt",
                             "status_lead_2016_raw.txt", "add_lead_2016_raw.txt", "update_lead_2016_raw.txt",
                             "responsible_lead_2016_raw.txt") for body in webhook_bodies(name)]
WHOLE_BODY_PROBLEMS = ("body is not UTF-8 (byte ", "body is not form-encoded",
                       "account[id] or account[subdomain] is required", "no event in the body")


@pytest.fixture
def fuzz_client(redis_url, deps, account):
    """Our app over the test Redis, with a body limit small enough to fuzz across."""
    app = create_app(deps=replace(deps, settings=Settings(redis_url=redis_url, max_webhook_bytes=LIMIT)))
    return app.test_client()


# ---- strategies -------------------------------------------------------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
ROOTS = st.sampled_from(["leads", "contacts", "companies", "customers", "task", "talk", "unsorted", "account",
                         "unknown"]) | TEXT
ACTIONS = st.sampled_from(["add", "update", "status", "responsible", "delete", "restore", "note", ""]) | TEXT
FIELDS = st.sampled_from(["id", "status_id", "pipeline_id", "old_status_id", "price", "responsible_user_id",
                          "last_modified", "updated_at", "created_at", "date_create", "element_id", "element_type",
                          "complete_till", "status", "note_type", "uid", "type", "custom_fields", "values",
                          "subdomain", "note", "params", "duration", "accept_result", "leads"]) | TEXT
INDICES = (st.integers(0, 3).map(str) | st.integers(0, 10 ** 30).map(str) | st.sampled_from(["", "-1", "²", "٣", "x"]))
VALUES = (st.integers(-10, 10 ** 25).map(str) | st.sampled_from(["", "²", "١٢", "2025-04-13 10:00:00",
                                                                  "9999-99-99 99:99:99", "1e9", " 5", "0x10"])
          | TEXT)


@st.composite
def php_keys(draw) -> str:
    """`root[action][index][field]...`, sometimes deeper than allowed, sometimes with broken brackets."""
    parts = [draw(ACTIONS), draw(INDICES), draw(FIELDS)]
    parts += draw(st.lists(FIELDS | INDICES, max_size=draw(st.sampled_from([0, 2, 12]))))
    key = draw(ROOTS) + "".join(f"[{p}]" for p in parts[:draw(st.integers(0, len(parts)))])
    return key + draw(st.sampled_from(["", "", "", "[", "]", "][", "[[x]]"]))


ACCOUNT_BLOCKS = st.sampled_from([
    [("account[subdomain]", ACCOUNT.subdomain), ("account[id]", str(ACCOUNT.id))],
    [("account[subdomain]", ACCOUNT.subdomain)],  # older senders: subdomain only
    [("account[id]", str(ACCOUNT.id))],
    [("account[subdomain]", "somebody-else"), ("account[id]", "1")],
    [("account[subdomain]", ACCOUNT.subdomain), ("account[id]", "x16700680")],
    [],
])


@st.composite
def random_forms(draw) -> bytes:
    """A form of random PHP-style keys and values, mostly carrying our account block."""
    pairs = draw(ACCOUNT_BLOCKS) + draw(st.lists(st.tuples(php_keys(), VALUES), max_size=25))
    pairs = draw(st.permutations(pairs))
    if draw(st.booleans()):
        return urlencode(pairs).encode()
    # Unencoded and half-encoded bodies, as a careless sender would write them.
    return "&".join(f"{k}={quote(v) if draw(st.booleans()) else v}" for k, v in pairs).encode("utf-8")


@st.composite
def corrupted_samples(draw) -> bytes:
    """A real amoCRM body (made ours) with a few values, keys or bytes corrupted."""
    pairs = [list(p) for p in parse_qsl(draw(st.sampled_from(SAMPLES)).decode(), keep_blank_values=True)]
    pairs = [[k, ACCOUNT.subdomain if k == "account[subdomain]" else str(ACCOUNT.id) if k == "account[id]" else v]
             for k, v in pairs]
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.integers(0, len(pairs) - 1))
        pairs[target][draw(st.sampled_from([0, 1, 1, 1]))] = draw(VALUES)
    if draw(st.booleans()):  # a second item or kind in the same body
        pairs += [[k.replace("[0]", "[1]"), v] for k, v in pairs if not k.startswith("account")]
    body = urlencode([tuple(p) for p in pairs]).encode()
    return draw(st.sampled_from([body, body, mangle_bytes(body, draw(st.integers(0, 1 << 30)))]))


def mangle_bytes(body: bytes, seed: int) -> bytes:
    """Broken percent-encoding and non-UTF-8 bytes spliced into a body."""
    junk = [b"%", b"%z", b"%zz", b"%C3", b"%E2%82", b"\xff", b"\xc3", b"%00", b"&&", b"=", b"%5B", b"%5D"]
    at = seed % (len(body) + 1)
    return body[:at] + junk[seed % len(junk)] + body[at:]


BODIES = st.one_of(corrupted_samples(), corrupted_samples(), corrupted_samples(), random_forms(), random_forms(),
                   st.builds(mangle_bytes, random_forms(), st.integers(0, 1 << 30)), st.binary(max_size=300),
                   st.sampled_from([b"", b"a" * (LIMIT + 1), b"leads" + b"[a]" * 50 + b"=1",
                                    "account[subdomain]=\u00fc".encode("latin-1"),
                                    b"&".join([b"account[subdomain]=unirock"] + [b"x[%d]=1" % i for i in range(2000)])]))
OTHER_TYPES = st.sampled_from([f"{FORM}; charset=UTF-8", "APPLICATION/X-WWW-FORM-URLENCODED", "application/json",
                               "text/plain", "multipart/form-data; boundary=xyz", "", None])
CONTENT_TYPES = st.integers(0, 9).flatmap(lambda n: st.just(FORM) if n < 7 else OTHER_TYPES if n < 9 else st.text(
    st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
TARGETS = st.integers(0, 9).map(lambda n: "wrong_secret" if n == 8 else "unknown_account" if n == 9 else "ours")


# ---- the property -------------------------------------------------------------------------------------------------
@RUN
@given(body=BODIES, content_type=CONTENT_TYPES, target=TARGETS)
@example(body=SAMPLES[0], content_type=FORM, target="ours")
@example(body=b"account[id]=%C2%B2&leads[add][0][id]=1", content_type=FORM, target="ours")
@example(body=b"account[subdomain]=unirock&leads[status][%C2%B2][id]=1", content_type=FORM, target="ours")
def test_any_body_gets_a_precise_answer_and_a_2xx_only_once_stored(fuzz_client, deps, body, content_type, target):
    account_id = 999_999 if target == "unknown_account" else ACCOUNT.id
    secret = "0" * 64 if target == "wrong_secret" else hook_secret(deps.settings.secret_key, account_id)
    headers = {"Content-Type": content_type} if content_type is not None else {}
    before = inbox_and_queue(deps)

    answer = fuzz_client.post(f"/hooks/{account_id}/{secret}", data=body, headers=headers)

    after = inbox_and_queue(deps)
    assert answer.status_code < 500, answer.get_data(as_text=True)
    payload = answer.get_json()
    event(f"{answer.status_code} {payload.get('error', '') if isinstance(payload, dict) else ''}")
    if 200 <= answer.status_code < 300:
        # Stored, or a valid delivery of only kinds we do not read (message[add] ...): counted, nothing stored.
        assert after["inbox"] == before["inbox"] + 1 or (after["inbox"] == before["inbox"] and
                                                          after["skipped"] > before["skipped"])
        assert answer.status_code in (202, 204) and (answer.status_code == 204) == (answer.data == b"")
        rejected = payload["rejected"] if answer.status_code == 202 else []
        assert (answer.status_code == 202) == bool(rejected)
        assert all(names_the_problem(reason, decoded_keys(body)) for reason in rejected), payload
        return
    assert 400 <= answer.status_code < 500
    assert after == before, "a refused body must leave nothing behind"
    assert isinstance(payload, dict) and payload.get("error") and payload.get("message"), answer.data
    assert answers_precisely(answer.status_code, payload["message"], body, content_type, account_id), payload


def inbox_and_queue(deps) -> dict:
    """What a delivery can leave behind: inbox entries and queued drains."""
    skipped = sum(n for name, n in deps.store.counters(ACCOUNT.id).items() if name.startswith("skipped:"))
    return {"inbox": deps.store.inbox_length(ACCOUNT.id), "queued": len(deps.queues["webhooks"]), "skipped": skipped}


def decoded_keys(body: bytes) -> set[str]:
    """The form keys as our parser sees them (percent-decoded)."""
    return {k for k, _ in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)}


def names_the_problem(message: str, keys: set[str]) -> bool:
    """The message quotes an offending key, names the failed item and field, or names a whole-body problem."""
    if any(repr(k) in message for k in keys):
        return True
    items = re.findall(r"(\w+\[\w+\]\[[^\]]*\]): \[\w+\]", message)
    if items and all(any(k.startswith((i, i.rsplit("[", 1)[0] + "[]")) for k in keys) for i in items):  # [] = next
        return True
    return any(p in message for p in WHOLE_BODY_PROBLEMS) or "account[id]=" in message


def answers_precisely(status: int, message: str, body: bytes, content_type, account_id: int) -> bool:
    """Each refusal says what was wrong with this request."""
    if status == 415:
        received = parse_options_header(content_type or "")[0].lower()
        return FORM in message and (repr(received) in message if received else "none" in message)
    if status == 413:
        return "limit" in message or "large" in message.lower()
    if status == 404:
        return str(account_id) in message
    if status == 403:
        return "secret" in message or "account" in message or "subdomain" in message
    if status == 400:
        return names_the_problem(message, decoded_keys(body))
    return False


@hsettings(max_examples=12, deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(bodies=st.lists(corrupted_samples() | random_forms(), min_size=1, max_size=4))
def test_every_accepted_body_is_applied_or_dead_lettered(fuzz_client, deps, run_worker, bodies):
    secret = hook_secret(deps.settings.secret_key, ACCOUNT.id)
    before = deps.store.counters(ACCOUNT.id)
    answers = [fuzz_client.post(f"/hooks/{ACCOUNT.id}/{secret}", data=body, content_type=FORM).status_code
               for body in bodies]
    accepted = deps.store.inbox_length(ACCOUNT.id)  # the 2xx bodies, but those of only kinds we skip (not stored)
    assert accepted <= sum(200 <= status < 300 for status in answers)
    run_worker()
    after = deps.store.counters(ACCOUNT.id)
    settled = sum(after.get(k, 0) - before.get(k, 0) for k in ("applied", "duplicates", "dead_lettered"))
    assert settled == accepted and deps.store.inbox_length(ACCOUNT.id) == 0
    event(f"dead letters: {after.get('dead_lettered', 0) - before.get('dead_lettered', 0) > 0}")


@pytest.mark.parametrize("value", [str(10 ** 20), "9999-12-31 23:59:59", "0001-01-01 00:00:00"])
def test_a_time_out_of_range_is_refused_at_the_edge_not_dead_lettered_later(fuzz_client, deps, run_worker, value):
    pairs = [("account[id]", str(ACCOUNT.id)), ("task[add][0][id]", "5"), ("task[add][0][element_id]", "1"),
             ("task[add][0][element_type]", "2"), ("task[add][0][complete_till]", value)]
    answer = fuzz_client.post(f"/hooks/{ACCOUNT.id}/{hook_secret(deps.settings.secret_key, ACCOUNT.id)}",
                              data=urlencode(pairs), content_type=FORM)
    assert answer.status_code == 400
    assert f"task[add][0]: [complete_till]={value!r}: time out of range" in answer.get_json()["message"]
    assert deps.store.inbox_length(ACCOUNT.id) == 0


@pytest.mark.parametrize("digit", ["²", "①"])
def test_digit_like_characters_are_not_numbers(fuzz_client, deps, digit):
    secret = hook_secret(deps.settings.secret_key, ACCOUNT.id)
    bodies = [urlencode([("account[id]", digit)]), urlencode([("account[subdomain]", "unirock"),
                                                               (f"leads[status][{digit}][id]", "1")])]
    for body in bodies:
        answer = fuzz_client.post(f"/hooks/{ACCOUNT.id}/{secret}", data=body, content_type=FORM)
        assert answer.status_code == 400 and digit in answer.get_json()["message"]
