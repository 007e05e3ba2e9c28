"""The filtered panel added up from per-day aggregates agrees with the full recompute, and filters never mix."""
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from service.model import Account, Lead, Pipeline, Stage, StageChange
from service.insights.cube import build_cube, day_of
from service.insights.funnel import first_entries
from service.insights.manager_report import manager_report
from service.insights.panel_query import PanelFilter, main_pipeline, periods, split_by_pipeline, team_view
from service.insights.recompute import recompute_account
from service.insights.settings import InsightSettings
from service.insights.snapshot import build_snapshot
from service.insights.spells import build_spells
from service.insights.team import team_insights
from service.services.recompute import jsonable

from .synthetic import NOW, PIPE, generate_account

TZ = "Europe/Moscow"
SETTINGS = InsightSettings(forecast_sims=50, plan_sims=50)


def midnight(ts: int) -> int:
    """The local midnight starting the day of `ts`: periods on day boundaries are exact in both computations."""
    local = datetime.fromtimestamp(ts, ZoneInfo(TZ))
    return int(local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())


def account(pipelines=None, extra_leads=(), extra_history=()):
    acc = generate_account(1500, days=300, seed=7, activity=True)
    return build_snapshot(Account(1, "t", timezone=TZ), pipelines or acc.pipelines, acc.users,
                          acc.leads + list(extra_leads), acc.tasks, history=acc.history + list(extra_history),
                          calls=acc.calls)


def cube_of(snap):
    spells = build_spells(snap.leads.values(), snap.history_by_lead)
    return build_cube(snap, spells, NOW), spells


def test_unfiltered_period_equals_the_full_recompute_of_that_period():
    snap = account()
    cube, spells = cube_of(snap)
    start, end = midnight(NOW - 45 * 86400), midnight(NOW)
    stats = recompute_account(snap, [], NOW, SETTINGS).models.stage_stats
    full = jsonable(team_insights(snap, spells, stats, start, end, NOW, first_entries(spells)))
    view = jsonable(team_view(cube, PanelFilter(start, end, PIPE)))
    for key in ("funnel", "steps", "losses", "incoming", "workload", "changes"):
        assert view[key] == full[key], key
    assert view["places"][0] == full["places"][0]


def test_managers_add_up_to_the_team():
    snap = account()
    cube, _ = cube_of(snap)
    start, end = NOW - 90 * 86400, NOW
    whole = team_view(cube, PanelFilter(start, end, PIPE))
    parts = [team_view(cube, PanelFilter(start, end, PIPE, frozenset({u.id}))) for u in snap.users]
    assert sum(p["funnel"][0]["count"] for p in parts) == whole["funnel"][0]["count"]
    for status, loss in whole["losses"].items():
        assert sum(p["losses"][status].count for p in parts if status in p["losses"]) == loss.count
    first_step = whole["steps"][PIPE][0].rate
    assert sum(p["steps"][PIPE][0].rate.trials for p in parts) == first_step.trials


def second_pipeline():
    """A second pipeline whose stage names repeat the first's, with 30 deals of its own."""
    other = Pipeline(20, "Партнёры", (Stage(201, 20, "Первичный контакт", 1), Stage(202, 20, "Переговоры", 2)))
    leads = [Lead(5000 + i, 20, 202, 1, price=1000, created_at=NOW - 10 * 86400, stage_entered_at=NOW - 5 * 86400,
                  updated_at=NOW) for i in range(30)]
    history = [StageChange(5000 + i, NOW - 5 * 86400, 20, 202, 20, 201) for i in range(30)]
    return other, leads, history


def test_pipelines_are_never_mixed_and_the_main_one_is_the_default():
    other, leads, history = second_pipeline()
    base = generate_account(10, seed=1).pipelines[0]
    snap = account([base, other], leads, history)
    cube, _ = cube_of(snap)
    assert main_pipeline(cube) == PIPE
    main = team_view(cube, PanelFilter(NOW - 30 * 86400, NOW, PIPE))
    partners = team_view(cube, PanelFilter(NOW - 30 * 86400, NOW, 20))
    assert {r["pipeline_id"] for r in main["funnel"]} == {PIPE} and {r["status_id"] for r in partners["funnel"]} == \
        {201, 202}
    assert [r["count"] for r in partners["funnel"]] == [0, 30]
    assert [s.from_status for s in partners["steps"][20]] == [201, 202]
    assert partners["steps"][20][0].rate.trials == 30 and partners["steps"][20][0].rate.successes == 30
    assert all(r["status_id"] not in (201, 202) for r in main["time_in_stage"])


def test_a_period_counts_whole_local_days():
    snap = account()
    cube, _ = cube_of(snap)
    day = day_of(NOW, TZ)
    start = midnight(NOW)
    assert day_of(start, TZ) == day and day_of(start - 1, TZ) == day - 1
    today = team_view(cube, PanelFilter(start, start + 86400, PIPE))
    later_today = team_view(cube, PanelFilter(start + 3600, start + 7200, PIPE))
    assert jsonable(today["losses"]) == jsonable(later_today["losses"])


def test_manager_report_counts_deals_tasks_and_calls_per_manager():
    snap = account()
    cube, _ = cube_of(snap)
    start, end = midnight(NOW - 30 * 86400), midnight(NOW)
    report = manager_report(cube, PanelFilter(start, end, PIPE))
    rows = {r["user_id"]: r for r in report["rows"]}
    assert set(rows) == {u.id for u in snap.users}
    lead_rows = [lead for lead in snap.leads.values() if lead.responsible_user_id == 2]
    created = [lead for lead in lead_rows if start <= lead.created_at < end]
    assert rows[2]["created"] == len(created) and rows[2]["created_amount"] == sum(lead.price for lead in created)
    won = [lead for lead in lead_rows if lead.status_id == 142 and start <= (lead.closed_at or 0) < end]
    assert rows[2]["won"] == len(won)
    in_work = [lead for lead in lead_rows if lead.is_open]
    assert rows[2]["in_work"] == len(in_work)
    assert rows[2]["deals_without_task"] == sum(
        not any(not t.is_completed for t in snap.tasks_by_lead.get(lead.id, ())) for lead in in_work)
    calls = [c for lead in lead_rows for c in snap.calls_by_lead.get(lead.id, ()) if start <= c.at < end]
    assert rows[2]["calls"] == len(calls) and rows[2]["call_seconds"] == sum(c.duration for c in calls)
    assert rows[2]["call_avg_seconds"] == round(sum(c.duration for c in calls) / len(calls), 1)
    callers = [r for r in report["rows"] if r["calls"]]
    assert report["team"]["avg_calls"] == round(sum(r["calls"] for r in callers) / len(callers), 1)


def test_contacts_created_in_the_period_are_counted_per_manager():
    snap = replace(account(), contacts=((NOW - 86400, 3), (NOW - 86400, 3), (NOW - 100 * 86400, 3)))
    cube, _ = cube_of(snap)
    rows = {r["user_id"]: r for r in manager_report(cube, PanelFilter(NOW - 30 * 86400, NOW, PIPE))["rows"]}
    assert rows[3]["contacts_created"] == 2


def test_period_presets_follow_the_accounts_calendar():
    now = int(datetime(2025, 11, 20, 15, 0, tzinfo=ZoneInfo(TZ)).timestamp())
    got = {p["code"]: (p["from"], p["to"]) for p in periods(now, TZ)}

    def at(y, m, d):
        return int(datetime(y, m, d, tzinfo=ZoneInfo(TZ)).timestamp())
    assert got["this_month"] == (at(2025, 11, 1), now)
    assert got["last_month"] == (at(2025, 10, 1), at(2025, 11, 1))
    assert got["this_quarter"] == (at(2025, 10, 1), now)
    assert got["last_30"] == (at(2025, 10, 22), now) and got["last_90"] == (at(2025, 8, 23), now)


def test_a_period_is_reported_as_the_whole_days_it_counts():
    snap = account()
    cube, _ = cube_of(snap)
    noon = midnight(NOW) + 12 * 3600
    period = team_view(cube, PanelFilter(noon - 9 * 86400, noon + 1, PIPE))["period"]
    assert period == [midnight(NOW) - 9 * 86400, midnight(NOW) + 86400]  # ten whole days


def test_a_pipelines_own_rows_answer_as_the_whole_cube_does():
    other, leads, history = second_pipeline()
    snap = account([generate_account(10, seed=1).pipelines[0], other], leads, history)
    cube, _ = cube_of(snap)
    parts = split_by_pipeline(cube)
    for pipeline_id in (PIPE, 20):
        f = PanelFilter(NOW - 90 * 86400, NOW, pipeline_id, frozenset({1, 2}))
        assert jsonable(team_view(parts[pipeline_id], f)) == jsonable(team_view(cube, f))
        assert manager_report(parts[pipeline_id], f) == manager_report(cube, f)
