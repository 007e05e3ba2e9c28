"""The account of data/report_screenshots.json at NOW, as the insight core sees it after a complete sync."""
from __future__ import annotations

from tests.support.report_screenshots import SPEC, report_account, synced_snapshot

from .factories import DAY, NOW


def report_snapshot():
    """The screenshot account's snapshot at NOW."""
    return synced_snapshot(report_account(NOW))


PERIOD_START = NOW - SPEC["period_days"] * DAY
