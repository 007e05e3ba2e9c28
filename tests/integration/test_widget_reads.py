"""Every field the widget reads is one the API sends (issue 19: "it reads fields the API never sends").

The widget's reads are every `x.field` in every widget JS file (comments and strings left out) whose receiver is not
one of the widget's own objects; what the API sends is every field its answer schemas declare
(service/web/schemas.py, panel_schemas.py: the OpenAPI document is made from them) and every key of the answers the
widget asks for on the screenshot account, which fills the schemas' free-form dicts (team, forecast, report, ...).
A name the widget reads that is in neither, and is not one of the few the widget or amoCRM makes, fails the test.
"""
from __future__ import annotations

import inspect
import re

import pytest
from marshmallow import Schema

from service.insights.plans import month_key
from service.ops.widget_package import WIDGET_DIR, scripts
from service.web import panel_schemas, schemas
from tests.support.api import call
from tests.support.scenario_store import load_scenario

MANAGER, SUPERVISOR = 1, 1001  # the scenario's manager Анна Смирнова and its admin
# Receivers that are the widget's own objects, the page's or the browser's, never an API answer.
OWN = {"state", "Svg", "self", "APP", "Math", "JSON", "Object", "Array", "Date", "document", "window", "format",
       "charts", "style", "ctx", "view", "theCard", "list", "words", "calls", "options", "event", "$"}
# Names that are read but come from elsewhere: each with where it comes from.
NOT_FROM_THE_API = {
    "length": "arrays and strings",
    "responseJSON": "jQuery's failed request", "status": "jQuery's failed request (HTTP status)",
    "resolve": "a jQuery Deferred (api.js)", "reject": "a jQuery Deferred (api.js)",
    "callbacks": "amoCRM's widget object", "area": "self.system() (amocrm.ru/developers/content/web_sdk/mechanics)",
    "widget_code": "self.get_settings() (developers.kommo.com/docs/script-js)",
    "subitem_code": "initMenuPage's params (amocrm.ru/developers/content/web_sdk/left_menu)",
    "item": "card.js hintOf: {item, code, slot}", "slot": "card.js hintOf: {item, code, slot}",
    "label": "rows the widget builds (speed rows, filter options)",
    "pace_share": "panel.js planRows: the share of the month gone", "period_days": "panel.js normalizePanel",
    **{part: "format.js zoned: the calendar fields Intl.DateTimeFormat gives for the account's timezone"
       for part in ("year", "day", "hour", "minute", "second")},
}
READ = re.compile(r"([\w$\])]+)\s*\.\s*([A-Za-z_]\w*)\b(?!\s*\()")


def widget_code(name: str) -> str:
    """A widget file without its comments and string literals (their words are not reads)."""
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", (WIDGET_DIR / name).read_text(), flags=re.S)
    return re.sub(r"'(?:[^'\\\n]|\\.)*'", "''", code)


def widget_reads() -> dict:
    """Field name -> the files and receivers that read it."""
    reads: dict = {}
    for name in scripts():
        for receiver, field in READ.findall(widget_code(name)):
            if receiver not in OWN:
                reads.setdefault(field, set()).add(f"{name}: {receiver}.{field}")
    return reads


def schema_fields() -> set:
    """Every field an answer schema declares (the In schemas are what the API reads, not what it sends)."""
    names = set()
    for module in (schemas, panel_schemas):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls is not Schema and not issubclass(cls, schemas.In):
                names |= {f.data_key or key for key, f in cls._declared_fields.items()}
    return names


def keys_of(value) -> set:
    """Every key at any depth of a JSON answer."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


@pytest.fixture
def answers(deps, account, client, settings):
    """The answers the widget asks for, on the screenshot account, as the manager and as the supervisor."""
    month = month_key(int(deps.clock()), account.timezone)
    load_scenario(deps, account, plans=({"month": month, "user_id": 1, "amount": 100_000, "count": None},))
    lead = next(lead.id for lead in deps.store.all_leads(account.id)
                if lead.is_open and lead.responsible_user_id == MANAGER)
    asked = [(MANAGER, f"/leads/{lead}/hints"), (MANAGER, "/managers/me"), (MANAGER, "/me"),
             (MANAGER, "/attention?limit=50&scope=mine"), (SUPERVISOR, "/attention?limit=50&scope=visible"),
             (SUPERVISOR, f"/attention?scope=visible&limit=50&user_id={MANAGER}"), (SUPERVISOR, "/panel"),
             (SUPERVISOR, f"/panel?user_id={MANAGER}"), (SUPERVISOR, f"/plans?month={month}"),
             (SUPERVISOR, "/settings"), (SUPERVISOR, "/sync")]
    replies = {}
    for user, path in asked:
        reply = call(client, settings, "GET", path, user, claims={"is_admin": user == SUPERVISOR})
        assert reply.status_code == 200, (path, reply.json)
        replies[path] = reply.json
    return replies


def test_the_reads_are_found_in_every_widget_file():
    reads = widget_reads()
    files = {site.split(":")[0] for sites in reads.values() for site in sites}
    assert {"card.js", "attention.js", "panel.js", "speed.js", "manager_report.js", "panel_filters.js"} <= files
    assert {"top_hint", "hints_count", "by_delay", "within_share", "won_so_far"} <= set(reads)


def test_every_field_the_widget_reads_is_one_the_api_sends(answers):
    sent = schema_fields() | {key for answer in answers.values() for key in keys_of(answer)}
    assert {"funnel", "time_in_stage", "months", "rows", "pipelines", "top_hint"} <= sent  # the answers are full
    never_sent = {field: sorted(sites) for field, sites in widget_reads().items()
                  if field not in sent and field not in NOT_FROM_THE_API}
    assert never_sent == {}


def test_a_read_of_a_field_no_answer_has_would_be_caught():
    assert READ.findall("meta.push(deal.stage_name); deal.fn(x); return state.card;") == [
        ("deal", "stage_name"), ("state", "card")]  # calls are not reads; state is the widget's own
    assert "stage_name" not in schema_fields()  # the attention list once read deal.stage_name: no answer has it


def keys_at(answer, path: str) -> set:
    """The keys of what `path` names in an answer ("items.*.top_hint": the top_hint of every item)."""
    values = [answer]
    for step in path.split(".") if path else ():
        values = [x for v in values for x in (v if isinstance(v, list) else v.values() if step == "*" and
                                                 isinstance(v, dict) else [v.get(step)] if isinstance(v, dict)
                                                 else [])]
        values = [x for v in values for x in (v if isinstance(v, list) and step != "*" else [v])]
    return {k for v in values if isinstance(v, dict) for k in v}


def declared(schema) -> set:
    return {f.data_key or key for key, f in schema._declared_fields.items()}


# Receivers that hold one kind of answer in their file: (file, name) -> (answer, path in it, its schema, and what
# else the same name holds there). A field read off one of them must be a key of that very object.
PANEL, ATTENTION = "/panel", "/attention?limit=50&scope=visible"
NORMALIZED = {"as_of", "forecast", "backtest", "managers", "usefulness", "sync", "plans", "speed_to_lead", "period_days",
              "restricted"}
HELD = {
    ("attention.js", "data"): (ATTENTION, "", schemas.Attention, set()),
    ("attention.js", "deal"): (ATTENTION, "items", schemas.AttentionItem, set()),
    ("attention.js", "top"): (ATTENTION, "items.top_hint", schemas.TopHint, set()),
    ("attention.js", "me"): ("/me", "", schemas.Me, set()),
    ("card.js", "th"): (None, "", schemas.Threshold, set()),
    ("card.js", "r"): (None, "", schemas.Reason, set()),
    ("card.js", "answer"): (None, "", schemas.TaskAnswer, set()),
    ("card.js", "me"): ("/managers/me", "summary", schemas.ManagerSummaryDoc, declared(schemas.ManagerAnswer)),
    ("card.js", "plan"): ("/managers/me", "summary.plan", None, set()),
    ("panel.js", "raw"): (PANEL, "", panel_schemas.Panel, set()),
    ("panel.js", "team"): (PANEL, "team", None, set()),
    ("panel.js", "panel"): (PANEL, "team", None, NORMALIZED),  # normalizePanel: the team's fields and these
    ("panel.js", "sync"): ("/sync", "", schemas.SyncStatus, set()),
    ("panel.js", "inc"): (PANEL, "team.incoming", None, set()),
    ("panel.js", "fc"): (PANEL, "forecast", None, set()),
    ("panel.js", "acc"): (PANEL, "backtest", None, set()),
    ("panel.js", "day"): (PANEL, "team.changes.last_24h", None, set()),
    ("panel.js", "saved"): (None, "", panel_schemas.SettingsAnswer, set()),
    ("speed.js", "s"): (PANEL, "speed_to_lead", panel_schemas.SpeedToLead, set()),
    ("speed.js", "team"): (PANEL, "speed_to_lead.team", panel_schemas.SpeedGroup, set()),
    ("speed.js", "b"): (PANEL, "speed_to_lead.by_delay", panel_schemas.DelayBucket, set()),
    ("manager_report.js", "report"): (PANEL, "report", None, set()),
    ("manager_report.js", "r"): (PANEL, "report.rows", None, set()),
    ("manager_report.js", "team"): (PANEL, "report.team", None, set()),
    ("panel_filters.js", "raw"): (PANEL, "", panel_schemas.Panel, set()),
    ("settings_form.js", "settings"): ("/settings", "", panel_schemas.SettingsAnswer, set()),
    ("settings_form.js", "u"): ("/settings", "users", panel_schemas.UserRef, set()),
    ("settings_form.js", "f"): (None, "", panel_schemas.DateFieldRef, set()),
    ("settings_form.js", "o"): (None, "", schemas.StageOverride, set()),
    ("panel_filters.js", "u"): (PANEL, "options.users", None, set()),
    ("plan_editor.js", "p"): (None, "", schemas.Plan, set()),
    ("plan_editor.js", "data"): (None, "", schemas.Plans, set()),
}


def test_a_field_read_off_an_answer_is_a_field_of_that_answer(answers):
    receivers = {(site.split(": ")[0], site.split(": ")[1].rsplit(".", 1)[0])
                 for sites in widget_reads().values() for site in sites}
    assert set(HELD) <= receivers  # every receiver named here is still read in its file
    assert all(keys_at(answers[path], where) for path, where, _, _ in HELD.values() if path)  # and is in the answer
    wrong = {}
    for field, sites in widget_reads().items():
        for site in sites:
            name, expr = site.split(": ")
            held = HELD.get((name, expr.rsplit(".", 1)[0]))
            if held is None:
                continue
            path, where, schema, also = held
            fields = (declared(schema) if schema else set()) | also
            fields |= keys_at(answers[path], where) if path else set()
            if field not in fields:
                wrong.setdefault(site, sorted(fields))
    assert len(HELD) > 20 and wrong == {}
