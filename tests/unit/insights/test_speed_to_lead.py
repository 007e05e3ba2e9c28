"""The panel's speed-to-lead section: medians and P80 per manager and source, waiting now, conversion by delay."""
from __future__ import annotations

from service.insights.first_contact import FirstTouch
from service.insights.speed_to_lead import Row, percentile, speed_to_lead
from service.model import Lead

NOW = 1_800_000_000
DAY = 86400


def row(lead_id, user, source, delay_min=None, status=100, started=NOW - 2 * DAY, pipeline=1):
    lead = Lead(id=lead_id, pipeline_id=pipeline, status_id=status, responsible_user_id=user, created_at=started)
    touch = FirstTouch(started + int(delay_min * 60), "call", user) if delay_min is not None else None
    return Row(lead, started, touch, source)


def test_percentiles_are_nearest_rank():
    assert percentile([], 0.5) is None
    assert percentile([1, 2, 3, 4, 5], 0.5) == 3 and percentile([1, 2, 3, 4, 5], 0.8) == 4


def test_per_manager_and_source_times_and_share_within_the_limit():
    rows = [row(1, 5, "Telegram", 2), row(2, 5, "Telegram", 10), row(3, 5, "Site", 40), row(4, 6, "Site", 3),
            row(5, 6, "Site", None, started=NOW - 30 * 60)]  # still waiting, 30 minutes
    section = speed_to_lead(rows, None, 15, NOW, NOW - 7 * DAY, NOW, names={5: "Анна", 6: "Борис"})
    anna, boris = section["managers"]
    assert (anna["name"], anna["deals"], anna["median_minutes"], anna["p80_minutes"]) == ("Анна", 3, 10, 40)
    assert (anna["within_limit"], anna["decided"], anna["within_share"]) == (2, 3, 0.6667)
    assert (boris["untouched_now"], boris["longest_wait_minutes"], boris["decided"]) == (1, 30, 2)
    sources = {s["source"]: s for s in section["sources"]}
    assert sources["Telegram"]["median_minutes"] == 2 and sources["Site"]["deals"] == 3
    assert section["team"]["untouched_now"] == 1


def test_conversion_by_delay_counts_closed_deals_of_the_whole_history():
    old = NOW - 100 * DAY
    rows = [row(1, 5, "", 3, 142, old), row(2, 5, "", 4, 143, old), row(3, 5, "", 30, 143, old),
            row(4, 5, "", 300, 142, old), row(5, 5, "", 3000, 143, old), row(6, 5, "", None, 143, old),
            row(7, 5, "", 1, 100)]  # open: not counted
    by = {b["bucket"]: b for b in speed_to_lead(rows, None, 15, NOW, NOW - 7 * DAY, NOW)["by_delay"]}
    assert (by["5m"]["won"], by["5m"]["closed"], by["5m"]["rate"]) == (1, 2, 0.5)
    assert (by["1h"]["closed"], by["1d"]["won"], by["later"]["closed"], by["never"]["closed"]) == (1, 1, 1, 1)


def test_filters_by_pipeline_and_manager():
    rows = [row(1, 5, "", 2, pipeline=1), row(2, 6, "", 2, pipeline=2)]
    assert speed_to_lead(rows, None, 15, NOW, NOW - 7 * DAY, NOW, pipeline_id=2)["team"]["deals"] == 1
    assert speed_to_lead(rows, None, 15, NOW, NOW - 7 * DAY, NOW, user_id=5)["managers"][0]["user_id"] == 5
