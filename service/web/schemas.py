"""Marshmallow schemas of the widget API (/api/v1): requests are loaded through them (unknown fields ignored),
answers dumped through them, and the OpenAPI description is generated from them. Times are unix seconds."""
from __future__ import annotations

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

# ASCII digits only ("\d" also takes "٣"); the patterns stay plain JSON-Schema regexes for the OpenAPI description,
# and `one_line` closes the loophole of Python's "$", which also matches before a trailing newline.
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
FEEDBACK_REASONS = ("not_relevant", "already_done", "wrong_data", "later", "other")


def one_line(value: str) -> None:
    if "\n" in value:
        raise ValidationError("must not contain a line break")


month_field = dict(validate=[validate.Regexp(MONTH, error="month must be YYYY-MM"), one_line])
# The latest moment a query may name: 2106, as for every time the service reads (amocrm/events.MAX_TIMESTAMP). Later
# ones have no local day to count (past the year 9999 Python has none: a 500, not an answer).
LAST_SECOND = 2 ** 32 - 1


class WholeNumber(fields.Integer):
    """An integer that refuses a fraction: marshmallow's Integer truncates 4.9 to 4 (another user, another count).
    A JSON number with a zero fraction (5.0) and a digit string (a query's) are whole."""

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class In(Schema):
    """Requests: unknown fields are ignored (read tolerantly)."""

    class Meta:
        unknown = EXCLUDE


# --- requests
class AttentionQuery(In):
    limit = WholeNumber(load_default=20, validate=validate.Range(1, 100), metadata={"description": "1–100"})
    scope = fields.String(load_default="mine", validate=validate.OneOf(("mine", "visible")), metadata={
        "description": "mine: deals the caller is responsible for; visible: every deal their rights let them see"})
    user_id = WholeNumber(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "only this manager's deals, of those the scope and the caller's rights allow"})


class PanelQuery(In):
    from_ = WholeNumber(data_key="from", load_default=None, validate=validate.Range(0, LAST_SECOND), metadata={
        "description": "period start, unix seconds (default: the last 30 local days, today included); periods count "
                       "whole days in the account's timezone"})
    to = WholeNumber(load_default=None, validate=validate.Range(0, LAST_SECOND), metadata={
        "description": "period end, unix seconds, exclusive (default: now)"})
    pipeline_id = WholeNumber(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "one pipeline (default: the main one); stages of different pipelines are never mixed"})
    user_id = WholeNumber(load_default=None, validate=validate.Range(min=1), metadata={
        "description": "one manager (default: everyone)"})
    group_id = WholeNumber(load_default=None, validate=validate.Range(min=0), metadata={
        "description": "one group of managers (ignored with user_id)"})

    @validates_schema
    def period_in_order(self, data, **kwargs):
        if data.get("from_") is not None and data.get("to") is not None and data["from_"] >= data["to"]:
            raise ValidationError("from must be before to", "from")


class PlansQuery(In):
    month = fields.String(load_default=None, **month_field,
                          metadata={"description": "YYYY-MM; default the current month in the account's timezone"})


class PlanWrite(In):
    month = fields.String(required=True, **month_field)
    user_id = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=1),
                          metadata={"description": "a manager; null = the whole account's plan"})
    amount = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0, max=1e13),
                          metadata={"description": "won amount to reach; with count null too the plan is removed"})
    count = WholeNumber(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10**7),
                        metadata={"description": "won deals to reach"})


class FeedbackWrite(In):
    action = fields.String(required=True, validate=validate.OneOf(("dismiss", "snooze")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(FEEDBACK_REASONS))
    comment = fields.String(load_default="", validate=validate.Length(max=500))
    until = WholeNumber(load_default=None, allow_none=True, metadata={
        "description": "snooze end, unix seconds (default 24 h from now, at most 90 days); ignored for dismiss"})


class TaskWrite(In):
    text = fields.String(load_default="", validate=validate.Length(max=1000), metadata={
        "description": "default: the hint's suggested action in `lang`"})
    due = WholeNumber(load_default=None, allow_none=True, metadata={
        "description": "complete_till, unix seconds; default tomorrow 12:00 in the account's timezone"})
    lang = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("ru", "en")))


class StageOverride(In):
    warn_days = fields.Float(required=True, validate=validate.Range(min=0.1, max=3650))
    crit_days = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=0.1, max=3650),
                             metadata={"description": "default 1.5 × warn_days"})

    @validates_schema
    def critical_after_warning(self, data, **kwargs):
        if data.get("crit_days") is not None and data["crit_days"] < data["warn_days"]:
            raise ValidationError("crit_days must not be below warn_days", "crit_days")


HHMM = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


class WorkingHoursIn(In):
    days = fields.List(WholeNumber(validate=validate.Range(1, 7)), required=True,
                       validate=validate.Length(min=1, max=7), metadata={"description": "ISO weekdays, 1 = Monday"})
    start = fields.String(required=True, validate=[validate.Regexp(HHMM, error="start must be HH:MM"), one_line],
                          metadata={"example": "09:00"})
    end = fields.String(required=True, validate=[validate.Regexp(HHMM, error="end must be HH:MM"), one_line],
                        metadata={"example": "18:00"})

    @validates_schema
    def start_before_end(self, data, **kwargs):
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            raise ValidationError("start must be earlier than end", "end")


class SettingsWrite(In):
    stage_overrides = fields.Dict(keys=fields.String(validate=[validate.Regexp(r"^[0-9]{1,12}$"), one_line]),
                                  values=fields.Nested(StageOverride), metadata={
                                      "description": "status_id -> limits; replaces every override when given"})
    no_activity_days = fields.Float(validate=validate.Range(min=0.5, max=365))
    close_date_field_id = WholeNumber(allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "the lead custom field holding the planned close date (null: none)"})
    supervisor_ids = fields.List(WholeNumber(validate=validate.Range(min=1)), validate=validate.Length(max=500),
                                 metadata={"description": "users who count as supervisors besides the admins"})
    first_contact_minutes = fields.Float(validate=validate.Range(min=1, max=1440), metadata={
        "description": "working minutes a new deal may wait for its first touch (critical at 4 ×); default 15"})
    working_hours = fields.Nested(WorkingHoursIn, allow_none=True, metadata={
        "description": "when time counts, in the account's timezone; null = around the clock; "
                       "default Monday-Friday 09:00-18:00"})


# --- answers
class Error(Schema):
    error = fields.String(required=True, metadata={"description": "stable code"})
    message = fields.String(required=True, metadata={"description": "what happened, for a person"})
    fields_ = fields.Dict(data_key="fields", metadata={"description": "invalid fields -> messages (400)"})
    retry_after = fields.Integer(metadata={"description": "seconds (429)"})


class Texts(Schema):
    ru = fields.String()
    en = fields.String()


class Threshold(Schema):
    value = fields.Float()
    source = fields.String()
    source_code = fields.String(metadata={"description": "stage (its exits) | stage_current (the deals waiting in it "
                                                         "now) | pipeline | default | manual"})


class Reason(Schema):
    code = fields.String()
    severity = fields.String()
    value = fields.Float()
    unit = fields.String()
    threshold = fields.Nested(Threshold, allow_none=True)
    evidence = fields.Dict()
    text = fields.Nested(Texts)


class Hint(Schema):
    code = fields.String(metadata={"description": "stuck_in_stage, no_open_task, overdue_task, no_activity, "
                                                  "close_date_passed, close_date_pushed, win_chance, plan_impact"})
    severity = fields.String(metadata={"description": "info | warning | critical"})
    value = fields.Float()
    unit = fields.String()
    threshold = fields.Nested(Threshold, allow_none=True)
    evidence = fields.Dict()
    action = fields.Nested(Texts)
    text = fields.Nested(Texts)
    as_of = fields.Integer()
    lead_id = fields.Integer()
    extra = fields.Dict()
    reasons = fields.List(fields.Nested(Reason), metadata={
        "description": "when one cause fired several rules (stuck in the stage and no activity): every rule's reason, "
                       "this card's own first; empty otherwise"})
    problem = fields.String(metadata={"description": "stable id of the problem (usefulness tracking)"})
    situation = fields.String(metadata={"description": "what a snooze/dismissal hides; changes on escalation"})


class Card(Schema):
    lead_id = fields.Integer()
    as_of = fields.Integer(allow_none=True, metadata={"description": "when the hints were computed"})
    hints = fields.List(fields.Nested(Hint), metadata={"description": "most severe first"})
    hidden = fields.Integer(metadata={"description": "hints the caller snoozed or dismissed"})


class AccountRef(Schema):
    id = fields.Integer()
    subdomain = fields.String()
    timezone = fields.String()


class SyncBrief(Schema):
    state = fields.String(allow_none=True)
    percent = fields.Float()
    account_state = fields.String(metadata={"description": "active | blocked | needs_reinstall"})


class Me(Schema):
    user_id = fields.Integer()
    name = fields.String()
    is_supervisor = fields.Boolean()
    is_admin = fields.Boolean()
    leads_view = fields.String(metadata={"description": "A all | G group | M own | D none (admins: A; a supervisor "
                                                        "chosen in the settings keeps their amoCRM right)"})
    group_id = fields.Integer()
    language = fields.String(metadata={"description": "ru | en, from the account's domain; prefer APP.lang_id"})
    account = fields.Nested(AccountRef)
    sync = fields.Nested(SyncBrief)


class TopHint(Schema):
    code = fields.String()
    severity = fields.String()
    text = fields.Nested(Texts)
    action = fields.Nested(Texts)


class Price(fields.Number):
    """A deal's price: an int, or with its fraction (Kommo accounts with minor units)."""

    num_type = float

    def _format_num(self, value):
        return int(value) if float(value).is_integer() else float(value)


class AttentionItem(Schema):
    lead_id = fields.Integer()
    name = fields.String()
    price = Price(metadata={"description": "a whole number unless the account keeps minor units"})
    status_id = fields.Integer()
    pipeline_id = fields.Integer()
    responsible_user_id = fields.Integer()
    responsible_name = fields.String(metadata={"description": "the responsible user's name (scope=visible only)"})
    severity = fields.String()
    hints_count = fields.Integer()
    top_hint = fields.Nested(TopHint)
    link = fields.String(metadata={"description": "path on the account's host: /leads/detail/<id>"})


class Attention(Schema):
    scope = fields.String()
    total = fields.Integer(metadata={"description": "deals needing attention before the limit"})
    as_of = fields.Integer(allow_none=True)
    items = fields.List(fields.Nested(AttentionItem), metadata={"description": "most severe, then priciest"})


class ManagerSummaryDoc(Schema):
    user_id = fields.Integer()
    as_of = fields.Integer()
    plan = fields.Dict(allow_none=True, metadata={"description": "PlanProgress: plan/fact/pace of this month"})
    projected_amount = fields.Float()
    p_plan_met = fields.Float(allow_none=True)
    gap_deals = fields.List(fields.Dict())
    hygiene = fields.Dict()
    workload = fields.Dict()
    conversion = fields.List(fields.Dict())
    losses = fields.Dict()
    calls = fields.Dict()
    contacts = fields.Dict()
    texts = fields.List(fields.Dict())


class ManagerAnswer(Schema):
    user_id = fields.Integer()
    name = fields.String()
    as_of = fields.Integer(allow_none=True)
    summary = fields.Nested(ManagerSummaryDoc, allow_none=True, metadata={"description": "null until computed"})
    hidden_by_rights = fields.Boolean(metadata={
        "description": "the caller's amoCRM stage rights hide some of this manager's deals: summary is null"})


class AccountState(Schema):
    state = fields.String()
    reason = fields.String()
    at = fields.Integer()


class SyncStatus(Schema):
    state = fields.String(allow_none=True, metadata={"description": "never | running | done | stopped | "
                                                                    "interrupted"})
    kind = fields.String(allow_none=True)
    percent = fields.Float()
    entities_done = fields.Integer()
    eta_seconds = fields.Integer(allow_none=True)
    started_at = fields.Integer(allow_none=True)
    updated_at = fields.Integer(allow_none=True)
    finished_at = fields.Integer(allow_none=True)
    reason = fields.String()
    requests = fields.Integer()
    steps = fields.Dict()
    account = fields.Nested(AccountState)


class Plan(Schema):
    month = fields.String()
    user_id = fields.Integer(allow_none=True)
    user_name = fields.String()
    amount = fields.Float(allow_none=True)
    count = fields.Integer(allow_none=True)


class Plans(Schema):
    month = fields.String()
    items = fields.List(fields.Nested(Plan))


class PlanWritten(Schema):
    plan = fields.Nested(Plan)
    deleted = fields.Boolean()
    recompute = fields.String()


class FeedbackGiven(Schema):
    lead_id = fields.Integer()
    code = fields.String()
    action = fields.String()
    situation = fields.String()
    until = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    hidden = fields.Boolean()


class FeedbackCleared(Schema):
    lead_id = fields.Integer()
    code = fields.String()
    cleared = fields.Boolean()


class TaskCreated(Schema):
    id = fields.Integer()
    lead_id = fields.Integer()
    responsible_user_id = fields.Integer()
    complete_till = fields.Integer()
    text = fields.String()
    task_type_id = fields.Integer()


class TaskAnswer(Schema):
    task = fields.Nested(TaskCreated)
    card = fields.Nested(Card, metadata={"description": "the deal's card after the task"})


class DeadLetter(Schema):
    index = fields.Integer()
    error = fields.String()
    received_at = fields.Integer(allow_none=True)
    kinds = fields.List(fields.String(), metadata={"description": "e.g. leads[status], task[add]"})
    items = fields.Integer()
    request_id = fields.String(allow_none=True)


class DeadLetters(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(DeadLetter))
