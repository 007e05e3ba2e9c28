"""Forecast: absorbing chain, Monte Carlo bands, run-rate, backtest scores and calibration."""
import pytest

from service.model import LOST, WON
from service.insights.forecast import OpenDeal, backtest, deal_outlooks, forecast, new_deal_rates, score
from service.insights.markov import WinTiming, absorption, chain_model, sojourn_of
from service.insights.settings import DAY, InsightSettings
from service.insights.spells import Spell, build_spells, group_history

from collections import Counter

from .synthetic import NOW, generate_account, true_win_probability

UTC = "UTC"


def test_absorbing_chain_multiplies_stage_probabilities():
    # A -> B 50 of 100 (rest lost); B -> won 40 of 100 (rest lost): P(win | A) = 0.5 * 0.4
    counts = {1: Counter({2: 50, LOST: 50}), 2: Counter({WON: 40, LOST: 60})}
    p = absorption(counts, base_win=0.2, alpha=0.0)
    assert p[1] == pytest.approx(0.2) and p[2] == pytest.approx(0.4)


def test_smoothing_pulls_unseen_stages_to_the_base_rate():
    counts = {1: Counter({WON: 1})}  # 1 of 1 won
    p = absorption(counts, base_win=0.25, alpha=1.0)
    assert p[1] == pytest.approx((1 + 0.25) / 2)


def test_chain_recovers_known_transition_probabilities():
    acc = generate_account(4000, days=365, seed=3)
    spells = build_spells(acc.leads, group_history(acc.history))
    model = chain_model(spells, NOW, window_days=365)
    for status in (101, 102, 103, 104):
        assert model.p_win[status] == pytest.approx(true_win_probability(status), abs=0.03)


def test_forecast_gives_ordered_bands_for_three_months():
    acc = generate_account(2000, days=365, seed=5)
    leads = {l.id: l for l in acc.leads}
    spells = build_spells(acc.leads, group_history(acc.history))
    result = forecast(leads, spells, NOW, UTC, InsightSettings(forecast_sims=300))
    assert len(result.months) == 3 and len(result.cumulative) == 3
    for row in result.months + result.cumulative:
        assert 0 <= row["p10"] <= row["p50"] <= row["p90"]
    assert result.cumulative[2]["p50"] >= result.cumulative[0]["p50"]
    assert all(0 <= o.p_win <= 1 and sum(o.by_month) <= o.p_win + 1e-9 for o in result.deals.values())


def test_forecast_is_reproducible_with_its_seed():
    acc = generate_account(500, seed=2)
    leads = {l.id: l for l in acc.leads}
    spells = build_spells(acc.leads, group_history(acc.history))
    settings = InsightSettings(forecast_sims=100, seed=7)
    assert forecast(leads, spells, NOW, UTC, settings).months == forecast(leads, spells, NOW, UTC, settings).months


def test_forecast_does_not_depend_on_the_order_the_mirror_lists_leads_in():
    acc, settings = generate_account(500, seed=2), InsightSettings(forecast_sims=100)

    def forecast_of(leads):
        return forecast({l.id: l for l in leads}, build_spells(leads, group_history(acc.history)), NOW, UTC, settings)

    listed, reversed_ = forecast_of(acc.leads), forecast_of(acc.leads[::-1])
    assert (listed.months, listed.cumulative) == (reversed_.months, reversed_.cumulative)


def test_backtest_scores_wape_bias_and_coverage():
    rows = [{"actual": 100, "p10": 50, "p50": 90, "p90": 120, "inside": True},
            {"actual": 200, "p10": 210, "p50": 230, "p90": 260, "inside": False}]
    result = score(rows)
    assert result.wape == pytest.approx(40 / 300) and result.bias == pytest.approx(20 / 300)
    assert result.coverage == 0.5


def test_backtest_uses_only_history_known_at_each_month_start():
    acc = generate_account(1500, days=400, seed=11)
    leads = {l.id: l for l in acc.leads}
    result = backtest(leads, group_history(acc.history), NOW, UTC, InsightSettings(forecast_sims=200))
    assert len(result.months) == 6 and all(r["end"] <= NOW for r in result.months)
    assert result.wape is not None and result.wape < 0.6


def test_p10_p90_band_holds_the_realised_value_in_70_to_90_percent_of_months():
    inside = total = 0
    settings = InsightSettings(forecast_sims=300, window_days=365)
    for seed in range(16):
        acc = generate_account(1800, days=420, seed=100 + seed)
        result = backtest({l.id: l for l in acc.leads}, group_history(acc.history), NOW, UTC, settings)
        inside += sum(r["inside"] for r in result.months)
        total += len(result.months)
    assert 0.70 <= inside / total <= 0.90, f"{inside} of {total}"


# --- time to close: stays per stage (censored), a tail for deals older than any past stay, composed over stages ---

def _stays(status, days, count, left_to, first_id=1, now=NOW):
    """`count` spells of `days` days in `status` ending at `now` (moving to `left_to`, or still open when None)."""
    return [Spell(first_id + i, 10, status, int(now - days * DAY), None if left_to is None else now,
                  left_to) for i in range(count)]


def test_time_in_stage_counts_open_stays_as_censored_not_as_missing():
    # 10 stays left on day 1, 10 are still open at day 3: day 1 hazard 10/20, day 3 (10 at risk) 0 of 10
    observed = [(1.5, True)] * 10 + [(3.5, False)] * 10
    stay = sojourn_of(observed, overall_rate=0.1)
    assert stay.hazard == (0.0, 0.5, 0.0, 0.0)
    # from day 4 on nobody is left to measure: the tail is the stage's own rate, 10 exits over 15 + 35 deal-days,
    # with one pseudo-exit at the account's overall rate (0.1 a day)
    assert stay.tail == pytest.approx((10 + 1) / (50 + 1 / 0.1))


def test_deal_older_than_every_observed_close_time_still_has_a_chance_this_month():
    # 20 past deals all won after exactly 10 days in the stage; ours has sat there 30 days
    spells = _stays(1, 10, 20, WON) + _stays(1, 30, 1, None, first_id=100)
    model = chain_model(spells, NOW)
    # hazard known to day 10 (21 at risk); the tail: no exits in the 19 deal-days past day 11, one pseudo-exit at
    # the stage rate (20 + 1 exits over 230 deal-days + 1 / (20 / 230))
    tail = 1 / (19 + (230 + 230 / 20) / 21)
    assert model.sojourn[1].tail == pytest.approx(tail)
    p = WinTiming(model, 10).open_deal(1, 30, [10])[0]
    assert p == pytest.approx(1 - (1 - tail) ** 10)  # every exit from the stage has been a win
    assert 0.2 < p < 0.4


def test_deal_stuck_past_the_usual_stay_is_less_likely_to_close_soon_than_a_fresh_one():
    spells = _stays(1, 10, 20, WON) + _stays(1, 30, 1, None, first_id=100) + _stays(1, 0.2, 1, None, first_id=200)
    timing = WinTiming(chain_model(spells, NOW), 20)
    assert timing.open_deal(1, 0, [20])[0] > 0.9 > timing.open_deal(1, 30, [20])[0]


def test_time_to_win_adds_the_stays_of_the_stages_on_the_way():
    # 10 deals stay exactly 2 days in stage 1 then move to 2; 10 stay 3 days in 2 then win: a win 2.5 + 3.5 = 6 days
    # after entering 1 (exits are placed mid-day). Smoothing sends 1 of 11 of stage 1's exits straight to won.
    spells = _stays(1, 2, 10, 2, now=NOW - 3 * DAY) + _stays(2, 3, 10, WON, first_id=11)
    grid = WinTiming(chain_model(spells, NOW), 8).entered[1]
    assert grid[5] == pytest.approx(1 / 11)  # only the pseudo-exit: won at 2.5 days
    assert grid[6] == pytest.approx(1 / 11 + 10 / 11 / 2)  # the 6-day win sits on the boundary: counted half
    assert grid[7] == pytest.approx(1.0)


def test_forecast_splits_a_deal_between_months_by_its_remaining_stay():
    spells = _stays(1, 10, 20, WON) + _stays(1, 5, 1, None, first_id=100)
    model = chain_model(spells, NOW)
    month_end = NOW + 3 * DAY
    (outlook,) = deal_outlooks(model, [OpenDeal(100, 1, 1000.0, 1, NOW - 5 * DAY)], NOW,
                               [month_end, month_end + 30 * DAY]).values()
    assert outlook.by_month == pytest.approx((0.0, 1.0))  # it leaves on day 10 of its stay: 5 days from now


def test_backtest_of_a_steady_account_is_unbiased():
    # slow deals (4 x the base stay lengths): before the fix old deals were counted as fresh and bias was about +40%
    actual = signed = 0.0
    for seed in (1, 2, 3, 4):
        acc = generate_account(3000, days=540, seed=seed, pace=4.0)
        result = backtest({l.id: l for l in acc.leads}, group_history(acc.history), NOW, UTC,
                          InsightSettings(forecast_sims=200))
        actual += sum(r["actual"] for r in result.months)
        signed += sum(r["p50"] - r["actual"] for r in result.months)
    assert abs(signed / actual) < 0.10


def test_run_rate_counts_new_deals_by_the_stage_they_start_in():
    # 90 deals started in stage 1 in the last 90 days, one a day, each won 2.5 days after entering (P(win) = 1)
    spells = [Spell(i, 10, 1, NOW - i * DAY, NOW - i * DAY + int(2.5 * DAY), WON) for i in range(3, 90)] \
        + [Spell(100 + i, 10, 1, NOW - i * DAY // 2, None, None) for i in (1, 2, 3)]
    model = chain_model(spells, NOW)
    rates = new_deal_rates(WinTiming(model, 30), spells, NOW, [NOW + 10 * DAY, NOW + 30 * DAY])
    # future deals arrive mid-day: those of days 0..6 are won by day 10, day 7's exactly on it (counted half);
    # the next 20 days get the other half, days 8..26 and half of day 27's
    assert rates == pytest.approx([7.5, 20.0])
