"""Answers of the supervisor panel and the settings page (web/schemas.py has the rest)."""
from __future__ import annotations

from marshmallow import Schema, fields

from service.web.schemas import Plans, StageOverride, SyncStatus


class ManagerRow(Schema):
    user_id = fields.Integer()
    name = fields.String()
    is_admin = fields.Boolean()
    group_id = fields.Integer()
    plan = fields.Dict(allow_none=True)
    projected_amount = fields.Float(allow_none=True)
    p_plan_met = fields.Float(allow_none=True)
    hygiene = fields.Dict(allow_none=True)
    workload = fields.Dict(allow_none=True)
    hidden_by_rights = fields.Boolean(metadata={
        "description": "the caller's amoCRM rights (leads.view G/M, or stage rights) hide some of this manager's "
                       "deals: plan, hygiene and workload (summed over all their deals) are null"})


class Usefulness(Schema):
    code = fields.String()
    shown = fields.Integer(metadata={"description": "problems first shown on a card"})
    dismissed = fields.Integer()
    snoozed = fields.Integer()
    resolved_48h = fields.Integer(metadata={"description": "left the card within 48 h of first being shown"})
    unresolved_48h = fields.Integer()
    pending = fields.Integer(metadata={"description": "shown less than 48 h ago"})
    resolved_share = fields.Float(allow_none=True)
    reasons = fields.Dict(keys=fields.String(), values=fields.Integer())


class Panel(Schema):
    restricted = fields.Boolean(metadata={
        "description": "the caller's amoCRM rights hide some deals (not an admin, and leads.view is G or M, or "
                       "status_rights hide a stage; a supervisor chosen in the settings keeps their amoCRM rights): "
                       "team and report count only what they may see; forecast and backtest (sums over every deal) "
                       "are null, and so is team.incoming unless leads.view is A"})
    hidden_by_rights = fields.Boolean(metadata={
        "description": "the managers filtered on are all outside what the caller's amoCRM rights show: team, report "
                       "and speed_to_lead are null (unknown, not zero)"})
    as_of = fields.Integer(allow_none=True, metadata={"description": "the last full recompute"})
    recompute = fields.Dict(allow_none=True)
    timezone = fields.String(metadata={"description": "the account's IANA timezone: every date in the panel is a "
                                                      "day of it"})
    team = fields.Dict(allow_none=True, metadata={"description": "TeamInsights: funnel, steps, losses, "
                                                                 "time_in_stage, incoming, workload, changes"})
    forecast = fields.Dict(allow_none=True, metadata={"description": "months/cumulative with p10/p50/p90"})
    backtest = fields.Dict(allow_none=True, metadata={"description": "months, wape, bias, coverage, as_of"})
    managers = fields.List(fields.Nested(ManagerRow))
    sync = fields.Nested(SyncStatus)
    usefulness = fields.List(fields.Nested(Usefulness))
    plans = fields.Nested(Plans)
    speed_to_lead = fields.Nested(lambda: SpeedToLead(), allow_none=True, metadata={
        "description": "time to first contact per manager and source, and conversion by first-contact delay"})
    filters = fields.Dict(allow_none=True, metadata={
        "description": "the filter applied to team and report: from, to, pipeline_id, user_id, group_id; null before "
                       "the first recompute (team is then the stored last-30-days document). available_from: the "
                       "first day we hold history for; history: null, 'clamped' (from was moved up to "
                       "available_from; requested_from is what was asked) or 'before' (the period ends before "
                       "it: team, report and speed_to_lead are null, unknown)"})
    options = fields.Dict(allow_none=True, metadata={
        "description": "what can be chosen: pipelines [{id, name, main}], users [{id, name, group_id}], groups"})
    report = fields.Dict(allow_none=True, metadata={
        "description": "per manager in the period: deals created/won/lost and in work with sums, open and overdue "
                       "tasks, deals without a task, contacts created, calls (count, seconds, average) and the team "
                       "average"})


class SpeedGroup(Schema):
    deals = fields.Integer()
    touched = fields.Integer()
    median_minutes = fields.Float(allow_none=True, metadata={"description": "working minutes to the first touch"})
    p80_minutes = fields.Float(allow_none=True)
    within_limit = fields.Integer()
    decided = fields.Integer(metadata={"description": "touched, or untouched past the limit"})
    within_share = fields.Float(allow_none=True, metadata={"description": "within_limit / decided"})
    untouched_now = fields.Integer(metadata={"description": "new deals nobody has touched yet"})
    longest_wait_minutes = fields.Float(allow_none=True)


class SpeedManager(SpeedGroup):
    user_id = fields.Integer()
    name = fields.String()


class SpeedSource(SpeedGroup):
    source = fields.String()


class DelayBucket(Schema):
    bucket = fields.String(metadata={"description": "5m | 1h | 1d (one working day) | later | never"})
    won = fields.Integer()
    closed = fields.Integer()
    rate = fields.Float(allow_none=True)


class SpeedToLead(Schema):
    as_of = fields.Integer()
    period = fields.List(fields.Integer())
    limit_minutes = fields.Float()
    working_hours = fields.Boolean(metadata={"description": "false: minutes count around the clock"})
    working_day_minutes = fields.Float()
    filters = fields.Dict()
    team = fields.Nested(SpeedGroup)
    managers = fields.List(fields.Nested(SpeedManager))
    sources = fields.List(fields.Nested(SpeedSource))
    by_delay = fields.List(fields.Nested(DelayBucket), metadata={
        "description": "closed deals of the account's history by first-contact delay, with wins"})


class StageRef(Schema):
    pipeline_id = fields.Integer()
    pipeline_name = fields.String()
    status_id = fields.Integer()
    name = fields.String()


class UserRef(Schema):
    id = fields.Integer()
    name = fields.String()
    is_admin = fields.Boolean()


class DateFieldRef(Schema):
    id = fields.Integer()
    name = fields.String()
    type = fields.String(metadata={"description": "date | date_time | birthday"})


class WorkingHoursOut(Schema):
    days = fields.List(fields.Integer())
    start = fields.String()
    end = fields.String()


class Defaults(Schema):
    warn_days = fields.Float()
    crit_days = fields.Float()
    no_activity_days = fields.Float()
    first_contact_minutes = fields.Float()
    working_hours = fields.Nested(WorkingHoursOut)


class SettingsAnswer(Schema):
    stage_overrides = fields.Dict(keys=fields.String(), values=fields.Nested(StageOverride))
    no_activity_days = fields.Float()
    close_date_field_id = fields.Integer(allow_none=True)
    supervisor_ids = fields.List(fields.Integer())
    first_contact_minutes = fields.Float()
    working_hours = fields.Nested(WorkingHoursOut, allow_none=True, metadata={"description": "null: around the clock"})
    updated_at = fields.Integer(allow_none=True)
    updated_by = fields.Integer(allow_none=True)
    defaults = fields.Nested(Defaults)
    stages = fields.List(fields.Nested(StageRef), metadata={"description": "open stages that may be overridden"})
    users = fields.List(fields.Nested(UserRef), metadata={"description": "candidates for supervisor_ids"})
    may_choose_supervisors = fields.Boolean(metadata={
        "description": "whether the caller (an amoCRM account admin) may change supervisor_ids"})
    date_fields = fields.List(fields.Nested(DateFieldRef), metadata={
        "description": "the account's lead date fields (synced from amoCRM): candidates for close_date_field_id"})
    recompute = fields.String(metadata={"description": "after a PUT: queued"})
