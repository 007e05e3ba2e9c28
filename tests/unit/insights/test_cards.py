"""Per-deal hints: one specification per rule of the catalogue."""
from service.model import LOST, WON, Account
from service.insights.cards import CODES, DealContext, deal_hints
from service.insights.settings import InsightSettings
from service.insights.snapshot import build_snapshot, deal_context
from service.insights.spells import build_spells, group_history
from service.insights.stages import StageStats, TimeStats
from service.insights.winrate import win_model

from .factories import DAY, HOUR, NOW, PIPE, S1, S2, close_date_change, make_lead, make_task, path

STATS = StageStats(180, stages={(PIPE, S1): TimeStats(40, 3, 5.0, 10.0, 20.0)})


def ctx(**kw) -> DealContext:
    fields = dict(stage_stats=STATS, stage_name="Первичный контакт", last_activity_at=NOW - HOUR)
    fields.update(kw)
    return DealContext(**fields)


def codes(lead, context, now=NOW):
    return {h.code: h for h in deal_hints(lead, context, now)}


def busy_ctx(lead, **kw):
    """A context where the lead has an open task due tomorrow and recent activity."""
    return ctx(tasks=(make_task(lead.id, due_in_hours=24),), **kw)


def test_deal_past_stage_p80_is_stuck():
    lead = make_lead(status_id=S1, in_stage_days=12)
    hint = codes(lead, busy_ctx(lead))["stuck_in_stage"]
    assert (hint.severity, hint.value, hint.threshold.value) == ("warning", 12, 10.0)
    assert hint.threshold.source == "P80 of 40 exits in the last 180 days"
    assert hint.evidence["stage_exits"] == 40


def test_deal_past_stage_p95_is_critical():
    lead = make_lead(status_id=S1, in_stage_days=21)
    hint = codes(lead, busy_ctx(lead))["stuck_in_stage"]
    assert hint.severity == "critical" and hint.threshold.value == 20.0
    assert hint.evidence["percentile"] == "P95"


def test_deal_under_p80_is_not_stuck():
    lead = make_lead(status_id=S1, in_stage_days=9)
    assert "stuck_in_stage" not in codes(lead, busy_ctx(lead))


def test_stage_override_changes_the_stuck_limit():
    lead = make_lead(status_id=S1, in_stage_days=4)
    hint = codes(lead, busy_ctx(lead, settings=InsightSettings(stage_overrides={S1: 3})))["stuck_in_stage"]
    assert hint.threshold.source == "manual setting" and hint.severity == "warning"


def test_open_deal_without_open_task_gets_no_open_task():
    lead = make_lead()
    done = make_task(lead.id, due_in_hours=-5, done=True)
    hint = codes(lead, ctx(tasks=(done,)))["no_open_task"]
    assert hint.severity == "warning" and hint.evidence == {"open_tasks": 0, "completed_tasks": 1}


def test_deal_with_an_open_task_has_no_no_open_task():
    lead = make_lead()
    assert "no_open_task" not in codes(lead, busy_ctx(lead))


def test_overdue_task_24h_is_critical():
    lead = make_lead()
    hint = codes(lead, ctx(tasks=(make_task(lead.id, due_in_hours=-24),)))["overdue_task"]
    assert (hint.severity, hint.value, hint.unit) == ("critical", 24, "hours")


def test_overdue_task_of_a_few_hours_is_a_warning_and_minutes_are_info():
    lead = make_lead()
    assert codes(lead, ctx(tasks=(make_task(lead.id, due_in_hours=-3),)))["overdue_task"].severity == "warning"
    assert codes(lead, ctx(tasks=(make_task(lead.id, due_in_hours=-0.5),)))["overdue_task"].severity == "info"


def test_overdue_hint_reports_the_most_overdue_task_and_the_count():
    lead = make_lead()
    tasks = (make_task(lead.id, due_in_hours=-2, text="КП"), make_task(lead.id, due_in_hours=-30, text="Звонок"))
    hint = codes(lead, ctx(tasks=tasks))["overdue_task"]
    assert hint.evidence["task_text"] == "Звонок" and hint.evidence["overdue_tasks"] == 2
    assert "no_open_task" not in codes(lead, ctx(tasks=tasks))


def test_completed_task_past_its_date_is_not_overdue():
    lead = make_lead()
    assert "overdue_task" not in codes(lead, ctx(tasks=(make_task(lead.id, due_in_hours=-30, done=True),)))


def test_deal_quiet_for_7_days_has_no_activity():
    lead = make_lead()
    hint = codes(lead, busy_ctx(lead, last_activity_at=NOW - 8 * DAY))["no_activity"]
    assert (hint.severity, hint.value, hint.threshold.value) == ("warning", 8, 7)


def test_deal_quiet_for_twice_the_limit_is_critical():
    lead = make_lead()
    assert codes(lead, busy_ctx(lead, last_activity_at=NOW - 15 * DAY))["no_activity"].severity == "critical"


def test_recent_activity_means_no_no_activity_hint():
    lead = make_lead()
    assert "no_activity" not in codes(lead, busy_ctx(lead, last_activity_at=NOW - 3 * DAY))


def test_no_activity_limit_is_configurable():
    lead = make_lead()
    context = busy_ctx(lead, last_activity_at=NOW - 4 * DAY, settings=InsightSettings(no_activity_days=3))
    assert codes(lead, context)["no_activity"].threshold.value == 3


def test_close_date_in_the_past_is_flagged():
    lead = make_lead()
    assert codes(lead, busy_ctx(lead, close_date=NOW - 2 * DAY))["close_date_passed"].severity == "warning"
    assert codes(lead, busy_ctx(lead, close_date=NOW - 10 * DAY))["close_date_passed"].severity == "critical"
    assert "close_date_passed" not in codes(lead, busy_ctx(lead, close_date=NOW + DAY))
    assert "close_date_passed" not in codes(lead, busy_ctx(lead))  # no date field chosen, or none filled


def test_close_date_today_has_not_passed_until_the_day_ends():
    # NOW is 2025-10-09 08:53:20 UTC = 11:53:20 in Moscow (UTC+3 all year). amoCRM returns a date field as the start
    # of its day in the account's timezone: 9 October is 2025-10-08 21:00 UTC = 1_759_968_000 - 3 * 3600.
    oct_9 = 1_759_957_200
    day_ends = 1_760_043_600  # 10 October 00:00 in Moscow = 2025-10-09 21:00 UTC
    lead = make_lead()
    today = busy_ctx(lead, close_date=oct_9, timezone="Europe/Moscow")
    assert "close_date_passed" not in codes(lead, today, now=NOW)  # 00:00 UTC of the day has gone by: not enough
    assert "close_date_passed" not in codes(lead, today, now=day_ends - 1)  # 23:59:59 in Moscow
    hint = codes(lead, today, now=day_ends + 12 * HOUR)["close_date_passed"]
    assert (hint.severity, hint.value, hint.evidence["close_date"]) == ("warning", 0.5, oct_9)
    assert "close_date_passed" in codes(lead, today, now=day_ends)


def test_a_date_names_its_day_in_either_reading_and_a_date_time_passes_at_its_moment():
    # The docs' examples write dates as UTC midnights: 2025-10-09 00:00 UTC (1_759_968_000) is 8 October 20:00 in
    # New York (UTC-4 in October), yet it names 9 October, which ends there at 2025-10-10 04:00 UTC.
    new_york_day_ends = 1_760_068_800
    lead = make_lead()
    for value in (1_759_968_000, 1_759_968_000 + 4 * HOUR):  # UTC midnight, New York midnight
        context = busy_ctx(lead, close_date=value, timezone="America/New_York")
        assert "close_date_passed" not in codes(lead, context, now=new_york_day_ends - 1)
        assert "close_date_passed" in codes(lead, context, now=new_york_day_ends)
    moment = busy_ctx(lead, close_date=NOW - HOUR, timezone="Europe/Moscow",
                      settings=InsightSettings(close_date_field_type="date_time"))
    assert codes(lead, moment)["close_date_passed"].value == round(1 / 24, 2)


def test_the_chosen_date_field_is_the_close_date_and_only_its_changes_count():
    lead = make_lead(date_fields=((7, NOW - 2 * DAY), (8, NOW + 30 * DAY)))
    snap = build_snapshot(Account(1, "a"), leads=[lead], close_date_changes=[
        close_date_change(lead.id, NOW - 3 * DAY, NOW - 9 * DAY, NOW - 2 * DAY, field_id=7),
        close_date_change(lead.id, NOW - 3 * DAY, NOW + 9 * DAY, NOW + 30 * DAY, field_id=8)])

    def chosen(field):
        return deal_context(lead, snap, STATS, None, {}, InsightSettings(close_date_field_id=field))

    assert (chosen(7).close_date, [c.old for c in chosen(7).close_date_changes]) == (NOW - 2 * DAY, [NOW - 9 * DAY])
    assert (chosen(8).close_date, [c.old for c in chosen(8).close_date_changes]) == (NOW + 30 * DAY, [NOW + 9 * DAY])
    assert (chosen(None).close_date, chosen(None).close_date_changes) == (None, ())  # no field chosen
    assert chosen(7).timezone == "Europe/Moscow"  # the account's: its days are the ones that end
    assert "close_date_passed" in codes(lead, chosen(7)) and "close_date_passed" not in codes(lead, chosen(8))


def test_close_date_pushed_twice_is_a_warning():
    lead = make_lead()
    changes = (close_date_change(lead.id, NOW - 9 * DAY, NOW - 5 * DAY, NOW + 5 * DAY),
               close_date_change(lead.id, NOW - 2 * DAY, NOW + 5 * DAY, NOW + 20 * DAY))
    hint = codes(lead, busy_ctx(lead, close_date=NOW + 20 * DAY, close_date_changes=changes))["close_date_pushed"]
    assert (hint.severity, hint.value, hint.evidence["days_pushed"]) == ("warning", 2, 25)


def test_close_date_set_or_pulled_earlier_is_not_a_push():
    lead = make_lead()
    changes = (close_date_change(lead.id, NOW - 9 * DAY, None, NOW + 9 * DAY),
               close_date_change(lead.id, NOW - 2 * DAY, NOW + 9 * DAY, NOW + 5 * DAY))
    assert "close_date_pushed" not in codes(lead, busy_ctx(lead, close_date=NOW + 5 * DAY, close_date_changes=changes))


def history_of_outcomes(wins_fast, losses_fast, wins_slow, losses_slow):
    """Resolved deals that spent 2 days (fast) or 20 days (slow) in S1 before closing."""
    leads, history = [], []
    for n, days, status in ((wins_fast, 2, WON), (losses_fast, 2, LOST), (wins_slow, 20, WON),
                            (losses_slow, 20, LOST)):
        for _ in range(n):
            lead = make_lead(status_id=status, closed_at=NOW - 10 * DAY)
            leads.append(lead)
            history += path(lead.id, NOW - 40 * DAY, [(S1, days), (status, 0)])
    return win_model(build_spells(leads, group_history(history)), {l.id: l for l in leads}, NOW)


def test_win_chance_uses_deals_that_stayed_as_long_with_sample_size():
    model = history_of_outcomes(wins_fast=30, losses_fast=10, wins_slow=2, losses_slow=38)
    young = make_lead(status_id=S1, in_stage_days=1)
    old = make_lead(status_id=S1, in_stage_days=15)
    young_hint = codes(young, busy_ctx(young, win_model=model))["win_chance"]
    old_hint = codes(old, busy_ctx(old, win_model=model))["win_chance"]
    # stage: 32 won of 80, prior 0.4 (the pipeline's 32/80) -> 0.4
    assert (young_hint.evidence["wins"], young_hint.evidence["trials"]) == (32, 80)
    assert young_hint.value == 40 and young_hint.severity == "info"
    # stayed >= 14 days: 2 won of 40. The shown value is the raw 5% of the counts shown beside it; the decision
    # uses the estimate shrunk toward 0.4 with strength 20: (2 + 8) / 60 = 16.67%, under half the stage's 40%
    assert (old_hint.evidence["wins"], old_hint.evidence["trials"]) == (2, 40)
    assert old_hint.value == 5 and old_hint.evidence["win_share_shrunk"] == 0.1667
    assert old_hint.severity == "warning"
    assert "2 из 40" not in old_hint.text["ru"] and "выиграно 2 — 5%" in old_hint.text["ru"]


def test_win_chance_needs_deals_that_stayed_as_long_as_this_one():
    model = history_of_outcomes(wins_fast=30, losses_fast=10, wins_slow=0, losses_slow=0)
    old = make_lead(status_id=S1, in_stage_days=15)
    assert "win_chance" not in codes(old, busy_ctx(old, win_model=model))  # never «из 0 сделок»
    model = history_of_outcomes(wins_fast=30, losses_fast=10, wins_slow=1, losses_slow=3)
    assert "win_chance" not in codes(old, busy_ctx(old, win_model=model))  # 4 comparable deals are too few


def test_plan_impact_is_the_share_of_the_remaining_plan():
    lead = make_lead(price=30_000)
    hint = codes(lead, busy_ctx(lead, remaining_plan=100_000))["plan_impact"]
    assert (hint.value, hint.severity) == (30, "warning")
    lead = make_lead(price=5_000)
    assert codes(lead, busy_ctx(lead, remaining_plan=100_000))["plan_impact"].severity == "info"
    assert "plan_impact" not in codes(lead, busy_ctx(lead, remaining_plan=0))


def test_closed_deals_get_no_hints():
    for status in (WON, LOST):
        lead = make_lead(status_id=status, in_stage_days=100)
        assert deal_hints(lead, ctx(last_activity_at=NOW - 60 * DAY, close_date=NOW - 30 * DAY), NOW) == []
    assert deal_hints(make_lead(is_deleted=True), ctx(), NOW) == []


def test_every_hint_carries_its_reason():
    lead = make_lead(status_id=S1, in_stage_days=16, price=50_000)
    changes = (close_date_change(lead.id, NOW - 9 * DAY, NOW - 5 * DAY, NOW - DAY),)
    model = history_of_outcomes(5, 5, 5, 5)
    context = ctx(tasks=(make_task(lead.id, due_in_hours=-30),), last_activity_at=NOW - 30 * DAY,
                  close_date=NOW - DAY, close_date_changes=changes, win_model=model, remaining_plan=80_000,
                  as_of=NOW - 60)
    hints = deal_hints(lead, context, NOW)
    # 30 quiet days (critical) and 16 days in the stage (warning) are one silence: one card, the more severe,
    # with both reasons under it
    assert {h.code for h in hints} == set(CODES) - {"no_open_task", "stuck_in_stage"}
    silent = next(h for h in hints if h.code == "no_activity")
    assert silent.severity == "critical"
    assert [(r["code"], r["severity"]) for r in silent.reasons] == [("no_activity", "critical"),
                                                                     ("stuck_in_stage", "warning")]
    for h in hints:
        assert h.severity in ("info", "warning", "critical") and h.lead_id == lead.id and h.as_of == NOW - 60
        assert h.threshold is not None and h.threshold.source
        assert h.evidence and h.text["ru"] and h.text["en"] and h.action["ru"] and h.action["en"]


def test_stuck_and_silent_deal_gets_one_card_with_both_reasons():
    lead = make_lead(status_id=S1, in_stage_days=120)
    hints = deal_hints(lead, busy_ctx(lead, last_activity_at=NOW - 120 * DAY), NOW)
    silence = [h for h in hints if h.code in ("stuck_in_stage", "no_activity")]
    assert len(silence) == 1 and silence[0].code == "stuck_in_stage"  # both critical: stuck names the stage
    reasons = silence[0].reasons
    assert [r["code"] for r in reasons] == ["stuck_in_stage", "no_activity"]
    assert reasons[0]["text"] == silence[0].text and "120 дней" in reasons[1]["text"]["ru"]
    assert "Позвоните" in silence[0].action["ru"] and "закрыть" in silence[0].action["ru"]


def test_a_lone_rule_keeps_no_reasons_list():
    lead = make_lead(status_id=S1, in_stage_days=1)
    hint = codes(lead, busy_ctx(lead, last_activity_at=NOW - 8 * DAY))["no_activity"]
    assert hint.reasons == ()
