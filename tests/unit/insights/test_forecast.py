"""Forecast: absorbing chain, Monte Carlo bands, run-rate, backtest scores and calibration."""
import pytest

from service.model import LOST, WON
from service.insights.forecast import backtest, forecast, score
from service.insights.markov import absorption, chain_model, close_by
from service.insights.settings import InsightSettings
from service.insights.spells import build_spells, group_history

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


def test_time_to_close_conditions_on_the_deal_age():
    model = chain_model([], NOW)
    assert close_by(model, 1, 0, [10]) == [0.0]
    from service.insights.markov import ChainModel
    model = ChainModel(to_win_days={1: [1.0, 2.0, 10.0, 20.0]})
    assert close_by(model, 1, 0, [5, 15]) == [0.5, 0.75]
    assert close_by(model, 1, 5, [10, 100]) == [0.5, 1.0]  # of 10 and 20 days, only 10 ends within 5 + 10


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
