"""Team insights: funnel, honest conversion, losses, where deals hang, incoming, workload, changes."""
from service.model import LOST, WON, Account
from service.insights.funnel import first_entries, steps
from service.insights.settings import DAY
from service.insights.snapshot import build_snapshot
from service.insights.spells import build_spells
from service.insights.stages import stage_stats_from_spells
from service.insights.team import team_insights
from service.insights.texts import NBSP

from .factories import NOW, S1, S2, S3, S4, make_lead, make_pipeline, make_task, path
from .scenario import PERIOD_START, report_snapshot


def panel(snap, start=NOW - 30 * DAY):
    spells = build_spells(snap.leads.values(), snap.history_by_lead)
    return team_insights(snap, spells, stage_stats_from_spells(spells, NOW), start, NOW, NOW)


def snapshot_of(walks, **kw):
    """walks: [(lead kwargs, [(status, days), ...])], each starting 20 days ago."""
    leads, history = [], []
    for lead_kw, steps_ in walks:
        lead = make_lead(**lead_kw)
        leads.append(lead)
        history += path(lead.id, NOW - 20 * DAY, steps_)
    return build_snapshot(Account(1, "t"), [make_pipeline()], leads=leads, history=history, **kw)


def test_deals_skipping_a_stage_do_not_count_as_passing_it():
    snap = snapshot_of([({"status_id": S3}, [(S1, 1), (S3, 0)]),  # skipped S2
                        ({"status_id": S3}, [(S1, 1), (S2, 1), (S3, 0)])])
    spells = build_spells(snap.leads.values(), snap.history_by_lead)
    result = {(s.from_status, s.to_status): s.rate for s in steps(first_entries(spells), make_pipeline(),
                                                                    NOW - 30 * DAY, NOW)}
    assert (result[(S1, S2)].successes, result[(S1, S2)].trials) == (1, 2)
    assert (result[(S2, S3)].successes, result[(S2, S3)].trials) == (1, 1)
    assert (result[(S3, S4)].successes, result[(S3, S4)].trials) == (0, 2)


def test_won_is_the_last_step_of_the_funnel():
    snap = snapshot_of([({"status_id": WON, "closed_at": NOW - 10 * DAY}, [(S4, 10), (WON, 0)])])
    assert [(s.from_status, s.to_status, s.rate.successes) for s in panel(snap).steps[10]][-1] == (S4, WON, 1)


def test_funnel_counts_and_sums_open_deals_per_stage():
    snap = snapshot_of([({"status_id": S1, "price": 100}, [(S1, 0)]), ({"status_id": S1, "price": 50}, [(S1, 0)]),
                        ({"status_id": LOST, "price": 999}, [(S1, 1), (LOST, 0)])])
    first = panel(snap).funnel[0]
    assert (first["status_id"], first["count"], first["amount"]) == (S1, 2, 150)


def test_workload_is_compared_with_the_team_median():
    leads = [make_lead(user=1), make_lead(user=1), make_lead(user=1), make_lead(user=2)]
    tasks = [make_task(leads[0].id)]
    snap = build_snapshot(Account(1, "t"), [make_pipeline()], leads=leads, tasks=tasks)
    load = panel(snap).workload
    assert load["users"][1] == {"open_deals": 3, "open_tasks": 1} and load["median"]["open_deals"] == 2


def test_changes_since_yesterday_count_created_won_and_lost():
    leads = [make_lead(created_days_ago=0.5), make_lead(status_id=WON, price=70, closed_at=NOW - 3600),
             make_lead(status_id=LOST, price=5, closed_at=NOW - 30 * 3600)]
    changes = panel(build_snapshot(Account(1, "t"), [make_pipeline()], leads=leads)).changes
    assert changes["last_24h"]["created"] == 1 and changes["last_24h"]["won_amount"] == 70
    assert changes["previous_24h"]["lost"] == 1


def test_screenshot_scenario_losses_name_stage_2():
    team = panel(report_snapshot(), PERIOD_START)
    worst = team.losses[S2]
    assert (worst.count, worst.amount) == (19, 94_000)
    assert all(x.count < 19 for st, x in team.losses.items() if st != S2)
    assert worst.top_reasons[0] == ("Дорого", 18)
    place = team.places[0]
    assert place["code"] == "most_losses" and place["status_id"] == S2
    assert f"«Переговоры»: 19 сделок на сумму 94{NBSP}000" in place["text"]["ru"]
    assert "“Переговоры”: 19 deals worth 94,000" in place["text"]["en"]


def test_screenshot_scenario_incoming_leads_convert_16_percent_mostly_from_forms():
    incoming = panel(report_snapshot(), PERIOD_START).incoming
    assert (incoming["total"], incoming["became_deals"]) == (286, 45)
    assert round(incoming["rate"] * 100) == 16 and incoming["by_source"][0].source == "forms"
    text = panel(report_snapshot(), PERIOD_START).places[-1]["text"]
    assert "Из 286 входящих заявок сделками стали 45 (16%)" in text["ru"] and "«Формы»" in text["ru"]
    assert "“Forms”" in text["en"] and "forms" not in text["ru"]  # the source by name, not its code
    assert "Of 286 incoming requests, 45 became deals (16%)" in text["en"]


def test_screenshot_scenario_deals_hang_in_decision_stage():
    team = panel(report_snapshot(), PERIOD_START)
    days = {row["name"]: row["median_days"] for row in team.time_in_stage}
    assert 1 <= days["Первичный контакт"] <= 2 and 1 <= days["Переговоры"] <= 2
    assert days["Принимают решение"] > 30
    hang = next(p for p in team.places if p["code"] == "longest_stage")
    assert hang["status_id"] == S3 and "«Принимают решение»: медиана" in hang["text"]["ru"]


def test_an_incoming_request_counts_as_a_deal_only_once_its_lead_left_unsorted():
    from service.insights.team import became_deal
    from service.model import IncomingLead

    leads = {1: make_lead(id=1, status_id=500), 2: make_lead(id=2, status_id=S1)}
    unsorted = {500}
    assert not became_deal(IncomingLead("a", 0, lead_id=1), leads, unsorted)  # still waiting
    assert became_deal(IncomingLead("b", 0, lead_id=2), leads, unsorted)  # accepted into the funnel
    assert not became_deal(IncomingLead("c", 0, lead_id=3), leads, unsorted)  # declined: its lead was deleted
    assert became_deal(IncomingLead("d", 0, lead_id=1, accepted=True), leads, unsorted)  # a webhook said so


def test_won_and_lost_are_outcomes_not_funnel_stages():
    from service.insights.funnel import funnel_stages
    from service.model import Pipeline, Stage

    pipeline = Pipeline(10, "P", (Stage(142, 10, "won", 10000), Stage(101, 10, "a", 20), Stage(143, 10, "lost", 11000),
                                  Stage(100, 10, "unsorted", 10, True)))
    assert [s.id for s in funnel_stages(pipeline)] == [100, 101]
