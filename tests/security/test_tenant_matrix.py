"""Cross-tenant access matrix over every /api/v1 endpoint: caller (user × token account) × endpoint × resource.

Two installed accounts (tests.support.api's world, plus marked data in both: every account-2 text carries
ZZACCT2, account-1 extras carry ZZACCT1). One test per row; each cell (every caller in turn) runs in a fresh world
and asserts:
- exactly the expected status (the table below: allow 2xx, deny 403/401, or a 4xx that reveals nothing);
- no body ever carries the other account's data (markers, names, deal titles);
- the other account's Redis keys are byte-for-byte unchanged (no cross-tenant write);
- amoCRM (mocked by `responses`) is only called on the caller's own account host, with that account's token.

The endpoint list is read from the Flask url_map: a new /api/v1 endpoint fails `test_the_matrix_covers_every_endpoint`
until it gets its row here."""
from __future__ import annotations

import json
import re

import pytest
import responses

from service.amocrm.oauth import TokenPair
from service.amocrm.tokens import TokenKeeper
from service.model import Lead, User
from service.store.keys import account_key
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import ADMIN, ALL, CHOSEN, DENIED, LEADS, MINE, NOW, USERS, card, hint, install_world
from tests.support.tokens import mint_token

A1, A2 = ACCOUNT, OTHER_ACCOUNT
OLGA = User(8, "ZZACCT2 Olga", leads_view="A")  # account 2's supervisor (chosen in its settings)
A2_USERS = (User(1, "ZZACCT2 Other admin", is_admin=True), User(5, "ZZACCT2 Other Masha", leads_view="M"), OLGA)
A2_LEADS = (Lead(101, 9, 91, 5, price=1, name="ZZACCT2 deal 101"), Lead(201, 9, 91, 1, price=2, name="ZZACCT2 201"))
A2_CARDS = {101: card(101, hint("no_activity", "info", 7.5, evidence={"marker": "ZZACCT2"})),
            201: card(201, hint("no_open_task", "warning", 0, "tasks", evidence={"marker": "ZZACCT2"}))}
# Account 1's texts an account-2 caller must never see, and account 2's that an account-1 caller must never see.
A1_MARKERS = ["ZZACCT1"] + [u.name for u in USERS] + [lead.name for lead in LEADS]
A2_MARKERS = ["ZZACCT2"]
MONTH = "2025-10"
TASKS = {A1.id: f"{A1.origin}/api/v4/tasks", A2.id: f"{A2.origin}/api/v4/tasks"}
ACCESS = {A1.id: "access-1", A2.id: "access-2"}

# Callers: (user id, token account). sup@1 is chosen in account 1's settings but amoCRM gives them own deals only
# (M): the panel's role, never more deals than amoCRM shows them (only admins see all). Strangers (a user the
# account's mirror does not know) see no deal and are no supervisors; "forged" is a token whose account_id is
# account 2 but whose issuer is account 1's origin.
CALLERS = {
    "sup@1": (CHOSEN.id, A1), "A@1": (ALL.id, A1), "M@1": (MINE.id, A1), "D@1": (DENIED.id, A1),
    "u2@1": (OLGA.id, A1),
    "sup1@2": (CHOSEN.id, A2), "A1@2": (ALL.id, A2), "M@2": (5, A2), "D1@2": (DENIED.id, A2), "u2@2": (OLGA.id, A2),
    "forged": (MINE.id, A2),
}
ORDER = list(CALLERS)

# endpoint, method, path, body: expected status per caller in ORDER:
#                sup@1 A@1 M@1 D@1 u2@1 | sup1@2 A1@2 M@2 D1@2 u2@2 | forged
MATRIX = [
    ("lead_hints", "GET", "/leads/101/hints", None,  # Masha's: not for sup@1, chosen but amoCRM M (own deals)
     "403 200 200 403 403  403 403 200 403 200  401"),
    ("lead_hints", "GET", "/leads/103/hints", None,  # account 1 only (Mikhail's deal)
     "403 200 403 403 403  403 403 200 403 200  401"),
    ("lead_hints", "GET", "/leads/201/hints", None,  # account 2 only
     "200 200 200 403 403  403 403 403 403 200  401"),
    ("hint_feedback", "POST", "/leads/101/hints/no_open_task/feedback", {"action": "dismiss"},
     "403 201 201 403 403  403 403 404 403 404  401"),
    ("hint_feedback", "POST", "/leads/201/hints/no_open_task/feedback", {"action": "snooze"},
     "404 404 404 403 403  403 403 403 403 201  401"),
    ("clear_hint_feedback", "DELETE", "/leads/101/hints/no_open_task/feedback", None,
     "403 200 200 403 403  403 403 200 403 200  401"),
    ("clear_hint_feedback", "DELETE", "/leads/201/hints/no_open_task/feedback", None,
     "200 200 200 403 403  403 403 403 403 200  401"),
    ("create_task", "POST", "/leads/101/tasks", {},
     "403 201 201 403 403  403 403 409 403 409  401"),
    ("create_task", "POST", "/leads/201/tasks", {},
     "404 404 404 403 403  403 403 403 403 201  401"),
    ("attention", "GET", "/attention?scope=visible", None,
     "200 200 200 403 403  403 403 200 403 200  401"),
    ("attention", "GET", "/attention", None,
     "200 200 200 403 403  403 403 200 403 200  401"),
    ("me", "GET", "/me", None,
     "200 200 200 200 200  200 200 200 200 200  401"),
    ("manager", "GET", "/managers/me", None,
     "200 200 200 200 200  200 200 200 200 200  401"),
    ("manager", "GET", "/managers/5", None,  # Masha in account 1, Other Masha in account 2
     "200 403 200 403 403  403 403 200 403 200  401"),
    ("manager", "GET", "/managers/3", None,  # account 1 only (Alla)
     "200 200 403 403 403  403 200 403 403 404  401"),
    ("manager", "GET", "/managers/8", None,  # account 2 only (Olga)
     "404 403 403 403 200  403 403 403 403 200  401"),
    ("panel", "GET", "/panel", None,
     "200 403 403 403 403  403 403 403 403 200  401"),
    ("sync", "GET", "/sync", None,
     "200 200 200 200 200  200 200 200 200 200  401"),
    ("dead_letters", "GET", "/dead-letters", None,
     "200 403 403 403 403  403 403 403 403 200  401"),
    ("plans", "GET", f"/plans?month={MONTH}", None,
     "200 200 200 200 200  200 200 200 200 200  401"),
    ("put_plan", "PUT", "/plans", {"month": MONTH, "user_id": None, "amount": 1000},
     "200 403 403 403 403  403 403 403 403 200  401"),
    ("put_plan", "PUT", "/plans", {"month": MONTH, "user_id": OLGA.id, "amount": 5},  # account 2's user
     "400 403 403 403 403  403 403 403 403 200  401"),
    ("settings", "GET", "/settings", None,
     "200 200 200 200 200  200 200 200 200 200  401"),
    ("put_settings", "PUT", "/settings", {"no_activity_days": 5},
     "200 403 403 403 403  403 403 403 403 200  401"),
    ("put_settings", "PUT", "/settings", {"supervisor_ids": [OLGA.id]},  # account 2's user; admins only (#v3)
     "403 403 403 403 403  403 403 403 403 200  401"),
    ("openapi", "GET", "/openapi.json", None,  # public: the description holds no account data
     "200 200 200 200 200  200 200 200 200 200  200"),
]


def install_two_tenants(deps, settings) -> None:
    """tests.support.api's world, both accounts enriched with marked data of every kind the API serves."""
    install_world(deps)
    store = deps.store
    store.save_users(A2.id, A2_USERS)
    store.save_leads(A2.id, A2_LEADS)
    for lead_id, doc in A2_CARDS.items():
        doc = {**doc, "hints": [{**h, "text": {"ru": "ZZACCT2", "en": "ZZACCT2"}} for h in doc["hints"]]}
        store.save_card(A2.id, lead_id, doc)
    store.save_insight(A2.id, "settings", {"supervisor_ids": [OLGA.id], "stage_overrides": {}})
    for account, marker, users in ((A1, "ZZACCT1", (MINE.id, ALL.id)), (A2, "ZZACCT2", (5, OLGA.id))):
        summary = {"as_of": NOW - 60, "plan": {"marker": marker}, "texts": [{"ru": marker}], "hygiene": {},
                   "workload": {}, "conversion": [], "gap_deals": [], "losses": {}, "calls": {}, "contacts": {}}
        store.save_managers(account.id, {u: {**summary, "user_id": u} for u in users})
        for name in ("team", "forecast", "backtest"):
            store.save_insight(account.id, name, {"marker": marker})
        store.save_insight(account.id, "recompute", {"as_of": NOW - 60, "marker": marker})
        store.save_plan(account.id, {"month": MONTH, "user_id": users[0], "amount": 100.0, "count": None})
        store.dead_letter(account.id, {"body": f"leads[add][0][name]={marker}", "received_at": NOW - 5,
                                       "headers": json.dumps({"X-Amocrm-Requestid": marker})}, f"{marker} failed")
        TokenKeeper(store, settings, None, deps.clock).save(account.id, TokenPair(ACCESS[account.id], "refresh",
                                                                                  NOW + 3600))
    store.widget.save_feedback(A2.id, 5, 101, {"code": "no_activity", "action": "dismiss", "situation": "ZZACCT2",
                                               "problem": "ZZACCT2", "until": None, "reason": "other",
                                               "comment": "ZZACCT2", "at": NOW - 10},
                               {"no_activity:dismissed": 1, "no_activity:reason:other": 1}, [])


def snapshot(redis, account_id: int) -> dict:
    """Every key of an account with its serialized value."""
    return {key: redis.dump(key) for key in redis.scan_iter(account_key(account_id, "*"))}


@pytest.fixture
def amocrm():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for account_id, url in TASKS.items():
            mock.post(url, json={"_embedded": {"tasks": [{"id": 4700 + account_id % 100, "request_id": "0"}]}})
        yield mock


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]}-{r[1]} {r[2]}" for r in MATRIX])
def test_row(client, deps, settings, amocrm, row):
    """One endpoint and resource for every caller, each in a fresh world; every wrong cell is reported at once."""
    wrong = []
    for caller in ORDER:
        deps.redis.flushdb()
        amocrm.calls.reset()
        try:
            check_cell(client, deps, settings, amocrm, row, caller)
        except AssertionError as exc:
            wrong.append(f"{caller}: {str(exc).splitlines()[0][:300]}")
    assert not wrong, "\n".join(wrong)


def check_cell(client, deps, settings, amocrm, row, caller) -> None:
    _, method, path, body, statuses = row
    expected = int(statuses.split()[ORDER.index(caller)])
    install_two_tenants(deps, settings)
    user_id, account = CALLERS[caller]
    other = A1 if account is A2 else A2
    issuer = A1.origin if caller == "forged" else account.origin
    before = snapshot(deps.redis, other.id)

    token = mint_token(settings, account, user_id, iss=issuer)
    reply = client.open(f"/api/v1{path}", method=method, headers={"X-Auth-Token": token},
                        **({"json": body} if body is not None else {}))

    text = reply.get_data(as_text=True)
    assert reply.status_code == expected, f"expected {expected}, got {reply.status_code}: {text[:200]}"
    assert reply.is_json and (reply.status_code < 400) == ("error" not in reply.json or path == "/openapi.json")
    if reply.status_code >= 400:
        assert set(reply.json) >= {"error", "message"}, text
    for marker in (A1_MARKERS + A2_MARKERS if caller == "forged" else A1_MARKERS if account is A2 else A2_MARKERS):
        assert marker not in text, f"got the other account's {marker!r}"
    if caller != "forged":
        assert snapshot(deps.redis, other.id) == before, f"changed account {other.id}'s data"
    for sent in amocrm.calls:
        assert sent.request.url == TASKS[account.id] and caller != "forged", f"called {sent.request.url}"
        assert sent.request.headers["Authorization"] == f"Bearer {ACCESS[account.id]}", "another account's token"
    if reply.status_code == 200 and isinstance(reply.json.get("account"), dict) and "id" in reply.json["account"]:
        assert reply.json["account"]["id"] == account.id, "another account's id"


def test_the_matrix_covers_every_endpoint(app):
    """Every /api/v1 rule and method of the url_map has at least one row (and no row names a missing one)."""
    routed = {(rule.endpoint.removeprefix("api."), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1") for method in rule.methods - {"HEAD", "OPTIONS"}}
    covered = {(endpoint, method) for endpoint, method, *_ in MATRIX}
    assert covered == routed
    for endpoint, method, path, *_ in MATRIX:  # each row's path really is that endpoint
        adapter = app.url_map.bind("localhost")
        assert adapter.match(f"/api/v1{path.split('?')[0]}", method=method)[0] == f"api.{endpoint}"


def test_a_token_of_one_account_never_reads_the_others_deal_of_the_same_id(client, deps, settings):
    """Deal 101 exists in both accounts: each account's supervisor reads its own, byte for byte different."""
    install_two_tenants(deps, settings)
    mine = client.get("/api/v1/leads/101/hints", headers={"X-Auth-Token": mint_token(settings, A1, ADMIN.id)}).json
    theirs = client.get("/api/v1/leads/101/hints", headers={"X-Auth-Token": mint_token(settings, A2, OLGA.id)}).json
    assert [h["code"] for h in mine["hints"]] == ["stuck_in_stage", "no_open_task"]
    assert [h["code"] for h in theirs["hints"]] == ["no_activity"]
    assert re.search("ZZACCT2", json.dumps(theirs)) and not re.search("ZZACCT2", json.dumps(mine))

