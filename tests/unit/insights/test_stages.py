"""Time-in-stage statistics: Kaplan–Meier with censoring, fallbacks, window and overrides."""
import pytest

from service.model import WON

from service.insights.cards import DealContext, deal_hints
from service.insights.settings import InsightSettings, StageOverride
from service.insights.stages import kaplan_meier, km_quantile, stage_stats, threshold_for, time_stats

from .factories import DAY, NOW, PIPE, S1, S2, S3, make_lead, make_task, move, path


def twenty_exits_from_s1(days=range(1, 21), start_days_ago=100, then=S2):
    """Leads that spent exactly 1..20 days in S1, then moved to `then` (S2: still there; WON: closed)."""
    leads, history = [], []
    for d in days:
        lead = make_lead(status_id=then, created_days_ago=start_days_ago, in_stage_days=start_days_ago - d)
        leads.append(lead)
        history += path(lead.id, NOW - start_days_ago * DAY, [(S1, d), (then, 0)])
    return leads, history


def test_kaplan_meier_matches_hand_computation_with_censoring():
    # exits at 1, 2, 2, 4 days; one stay censored at 3 days:
    # S(1) = 4/5 = 0.8; S(2) = 0.8 * (1 - 2/4) = 0.4; censored at 3 leaves 1 at risk; S(4) = 0
    curve = kaplan_meier([1, 2, 2, 4], [3])
    assert curve == [(1, pytest.approx(0.8)), (2, pytest.approx(0.4)), (4, pytest.approx(0.0))]
    assert km_quantile(curve, 0.5) == 2
    assert km_quantile(curve, 0.8) == 4


def test_censored_stays_count_at_risk_up_to_their_time():
    # without censoring the median of [1, 2, 3] is 2; two long stays still in the stage push it later
    assert km_quantile(kaplan_meier([1, 2, 3]), 0.5) == 2
    assert km_quantile(kaplan_meier([1, 2, 3], [10, 10]), 0.5) == 3


def test_percentile_hidden_by_censoring_is_none():
    stats = time_stats([1 * DAY], [30 * DAY] * 9)
    assert stats.median_days is None and stats.exits == 1 and stats.censored == 9


def test_stage_percentiles_from_history():
    leads, history = twenty_exits_from_s1()
    stats = stage_stats(history, leads, NOW)
    s1 = stats.stages[(PIPE, S1)]
    assert (s1.exits, s1.censored) == (20, 0)
    assert (s1.median_days, s1.p80_days, s1.p95_days) == (10, 16, 19)
    assert stats.stages[(PIPE, S2)].censored == 20


def test_threshold_names_its_source_with_sample_size():
    leads, history = twenty_exits_from_s1()
    stats = stage_stats(history, leads, NOW)
    warn, crit = threshold_for(stats, make_lead(status_id=S1))
    assert (warn.value, crit.value) == (16, 19)
    assert warn.source == "P80 of 20 exits in the last 180 days"
    assert crit.source == "P95 of 20 exits in the last 180 days"
    assert warn.source_code == "stage"


def test_stage_with_fewer_than_20_exits_falls_back_to_pipeline():
    leads, history = twenty_exits_from_s1(then=WON)
    for d in (2, 4, 6):  # only three exits from S3
        lead = make_lead(status_id=WON, in_stage_days=50)
        leads.append(lead)
        history += path(lead.id, NOW - 60 * DAY, [(S3, d), (WON, 0)])
    stats = stage_stats(history, leads, NOW)
    warn, _ = threshold_for(stats, make_lead(status_id=S3))
    assert warn.source_code == "pipeline"
    assert warn.source.startswith("P80 of 23 exits across the pipeline")
    assert "this stage has only 3 exits" in warn.source


def test_without_enough_history_the_default_applies():
    stats = stage_stats([], [], NOW)
    warn, crit = threshold_for(stats, make_lead(status_id=S1))
    assert (warn.value, crit.value, warn.source_code) == (14, 21, "default")


def test_supervisor_override_wins_over_history():
    leads, history = twenty_exits_from_s1()
    stats = stage_stats(history, leads, NOW)
    warn, crit = threshold_for(stats, make_lead(status_id=S1), {S1: 3})
    assert (warn.value, crit.value, warn.source) == (3, 4.5, "manual setting")
    warn, crit = threshold_for(stats, make_lead(status_id=S1), {(PIPE, S1): StageOverride(5, 9)})
    assert (warn.value, crit.value, crit.source_code) == (5, 9, "manual")


def test_exits_older_than_the_window_are_ignored():
    leads, history = twenty_exits_from_s1(start_days_ago=400)
    stats = stage_stats(history, leads, NOW, settings=InsightSettings(window_days=180))
    assert (PIPE, S1) not in stats.stages
    stats = stage_stats(history, leads, NOW, window_days=400)
    assert stats.stages[(PIPE, S1)].exits == 20


def test_lead_without_history_is_censored_in_its_stage():
    lead = make_lead(status_id=S1, in_stage_days=5)
    stats = stage_stats([], [lead], NOW)
    assert stats.stages[(PIPE, S1)].censored == 1


def test_first_status_before_the_first_move_is_a_spell():
    lead = make_lead(status_id=S2, created_days_ago=10, in_stage_days=4)
    stats = stage_stats([move(lead.id, NOW - 4 * DAY, S2, from_status=S1)], [lead], NOW)
    assert stats.stages[(PIPE, S1)].exits == 1
    assert stats.stages[(PIPE, S1)].median_days == 6


def test_pipeline_fallback_is_skipped_when_its_stays_are_mostly_still_open():
    leads, history = twenty_exits_from_s1()  # 20 long stays still open in S2 hide the pooled P80
    stats = stage_stats(history, leads, NOW)
    warn, _ = threshold_for(stats, make_lead(status_id=S3))
    assert warn.source_code == "default"


def test_the_same_move_seen_twice_a_second_apart_is_one_move():
    from service.insights.spells import lead_spells
    from service.model import StageChange

    lead = make_lead(id=1, status_id=102, created_at=1000, stage_entered_at=5000)
    changes = [StageChange(1, 3000, 10, 101, 10, 100), StageChange(1, 3001, 10, 101, 10, 100),
               StageChange(1, 5000, 10, 102, 10, 101)]
    spells = lead_spells(lead, changes)
    assert [(s.status_id, s.entered_at, s.left_at) for s in spells] == [(100, 1000, 3000), (101, 3000, 5000),
                                                                      (102, 5000, None)]


def crowded_one_day_stage():
    """57 requests waiting in S1 for up to two days, three that left it after a day, and one waiting 27 days."""
    leads = [make_lead(status_id=S1, in_stage_days=0.1 + i * 0.035) for i in range(56)]
    history = []
    for _ in range(3):
        lead = make_lead(status_id=S2, in_stage_days=5)
        leads.append(lead)
        history += path(lead.id, NOW - 6 * DAY, [(S1, 1), (S2, 0)])
    old = make_lead(status_id=S1, in_stage_days=27)
    return leads + [old], history, old


def test_crowded_stage_compares_a_deal_with_the_deals_waiting_there_now():
    leads, history, old = crowded_one_day_stage()
    stats = stage_stats(history, leads, NOW)
    warn, crit = threshold_for(stats, old)
    assert (warn.source_code, crit.source_code) == ("stage_current", "stage_current")
    assert crit.value < 3  # not the pipeline's or the default's limit: this stage's waiting deals
    assert "57 deals still in this stage" in crit.source and "only 3 exits" in crit.source


def test_deal_27_days_in_a_one_day_stage_is_stuck_and_says_what_it_was_compared_with():
    leads, history, old = crowded_one_day_stage()
    context = DealContext(stage_stats(history, leads, NOW), tasks=(make_task(old.id),), stage_name="Первичный контакт",
                          last_activity_at=NOW)
    hint = next(h for h in deal_hints(old, context, NOW) if h.code == "stuck_in_stage")
    assert hint.severity == "critical"
    assert hint.text["ru"] == ("Сделка 27 дней на этапе «Первичный контакт» — дольше, чем 95 из 100 сделок, "
                               "которые сейчас на этом этапе.")
    assert "longer than 95 of 100 deals now in this stage" in hint.text["en"]


def test_waiting_deals_of_equal_age_are_not_all_stuck():
    leads = [make_lead(status_id=S1, in_stage_days=3) for _ in range(30)]
    stats = stage_stats([], leads, NOW)
    hints = deal_hints(leads[0], DealContext(stats, last_activity_at=NOW), NOW)
    assert "stuck_in_stage" not in {h.code for h in hints}
