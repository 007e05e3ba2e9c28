"""Hint feedback: dismiss or snooze per user and situation; usefulness per rule (shown, feedback, resolved in 48 h)."""
from __future__ import annotations

import pytest

from service.services import widget
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.api import (ADMIN, ALL, CHOSEN, DENIED, MASHA_DEAL, MIKHAIL_DEAL, MINE, NOW, OTHER, call, card,
                               hint, install_world)

STUCK = "stuck_in_stage"


@pytest.fixture
def world(deps):
    install_world(deps)


def codes(client, settings, user, lead_id=MASHA_DEAL.id):
    reply = call(client, settings, "GET", f"/leads/{lead_id}/hints", user)
    assert reply.status_code == 200, reply.json
    return [h["code"] for h in reply.json["hints"]]


def feedback(client, settings, user, action="snooze", lead_id=MASHA_DEAL.id, code=STUCK, account=ACCOUNT,
             **body):
    return call(client, settings, "POST", f"/leads/{lead_id}/hints/{code}/feedback", user, account=account,
                json={"action": action, **body})


def test_snooze_hides_the_hint_for_that_user_only(client, settings, world):
    reply = feedback(client, settings, MINE, reason="later", until=NOW + 3600)
    assert reply.status_code == 201, reply.json
    assert reply.json["until"] == NOW + 3600 and reply.json["hidden"] is True
    assert codes(client, settings, MINE) == ["no_open_task"]
    assert codes(client, settings, ADMIN) == [STUCK, "no_open_task"]


def test_snooze_ends_on_time(client, settings, world, deps):
    feedback(client, settings, MINE, until=NOW + 3600)
    deps.clock = lambda: NOW + 3601
    assert codes(client, settings, MINE) == [STUCK, "no_open_task"]


def test_default_snooze_is_a_day(client, settings, world):
    assert feedback(client, settings, MINE).json["until"] == NOW + 86400


def test_a_changed_situation_shows_a_snoozed_hint_again(client, settings, world, deps):
    feedback(client, settings, MINE, lead_id=MIKHAIL_DEAL.id, code="no_open_task")  # not on that card
    feedback(client, settings, MINE, action="dismiss", code="no_open_task")
    assert codes(client, settings, MINE) == [STUCK]
    escalated = card(MASHA_DEAL.id, hint(STUCK, "critical", 31, evidence={"stage_name": "Переговоры"}),
                     hint("no_open_task", "warning", 0, "tasks", evidence={"completed_tasks": 3}))
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, escalated)  # a task was set and done: a new problem
    assert codes(client, settings, MINE) == [STUCK, "no_open_task"]


def test_escalation_ends_a_snooze_but_day_to_day_growth_does_not(client, settings, world, deps):
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, card(MASHA_DEAL.id, hint(STUCK, "warning", 20)))
    feedback(client, settings, MINE)
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, card(MASHA_DEAL.id, hint(STUCK, "warning", 21, threshold=7.3)))
    assert codes(client, settings, MINE) == []
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, card(MASHA_DEAL.id, hint(STUCK, "critical", 22)))
    assert codes(client, settings, MINE) == [STUCK]


def test_a_moved_threshold_ends_a_snooze(client, settings, world, deps):
    feedback(client, settings, MINE)
    changed = card(MASHA_DEAL.id, hint(STUCK, "critical", 30, threshold=14.0, evidence={"stage_name": "Переговоры"}))
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, changed)
    assert codes(client, settings, MINE) == [STUCK]


def test_undo_shows_the_hint_again(client, settings, world):
    feedback(client, settings, MINE, action="dismiss")
    reply = call(client, settings, "DELETE", f"/leads/{MASHA_DEAL.id}/hints/{STUCK}/feedback", MINE)
    assert reply.json == {"lead_id": MASHA_DEAL.id, "code": STUCK, "cleared": True}
    assert STUCK in codes(client, settings, MINE)


def test_feedback_on_a_hint_the_deal_does_not_have_is_404(client, settings, world):
    reply = feedback(client, settings, MINE, code="overdue_task")
    assert reply.status_code == 404 and "overdue_task" in reply.json["message"]


@pytest.mark.parametrize("body, field", [
    ({"action": "ignore"}, "action"),
    ({"action": "snooze", "reason": "bored"}, "reason"),
    ({"action": "snooze", "until": "tomorrow"}, "until"),
])
def test_invalid_feedback_is_400_naming_the_field(client, settings, world, body, field):
    reply = call(client, settings, "POST", f"/leads/{MASHA_DEAL.id}/hints/{STUCK}/feedback", MINE, json=body)
    assert reply.status_code == 400 and field in reply.json["fields"]


def test_snooze_in_the_past_is_400(client, settings, world):
    reply = feedback(client, settings, MINE, until=NOW - 1)
    assert reply.status_code == 400 and "future" in reply.json["message"]


@pytest.mark.parametrize("user", [OTHER, DENIED])
def test_no_feedback_on_a_deal_one_may_not_view(client, settings, world, user):
    assert feedback(client, settings, user).status_code == 403
    assert call(client, settings, "DELETE", f"/leads/{MASHA_DEAL.id}/hints/{STUCK}/feedback",
                user).status_code == 403


def test_another_accounts_token_cannot_touch_our_hints(client, settings, world, deps):
    reply = feedback(client, settings, 1, account=OTHER_ACCOUNT)  # their admin; their deal 101 has no such hint
    assert reply.status_code == 404
    assert widget.usefulness(deps, ACCOUNT.id)[0]["snoozed"] == 0


def usefulness_of(deps, code):
    return next(row for row in widget.usefulness(deps, ACCOUNT.id) if row["code"] == code)


def test_usefulness_counts_first_shown_feedback_and_resolution_within_48h(client, settings, world, deps, run_worker):
    codes(client, settings, MINE)
    codes(client, settings, ADMIN)  # the same problems again: shown once
    feedback(client, settings, MINE, reason="later")
    feedback(client, settings, ALL, action="dismiss", reason="not_relevant")
    stuck = usefulness_of(deps, STUCK)
    assert (stuck["shown"], stuck["snoozed"], stuck["dismissed"], stuck["pending"]) == (1, 1, 1, 1)
    assert stuck["reasons"] == {"later": 1, "not_relevant": 1}
    # a task is set: no_open_task leaves the card within a day; the stuck deal stays
    deps.store.save_card(ACCOUNT.id, MASHA_DEAL.id, card(MASHA_DEAL.id, CARD_STUCK))
    deps.clock = lambda: NOW + 86400
    codes(client, settings, ADMIN)
    task = usefulness_of(deps, "no_open_task")
    assert (task["resolved_48h"], task["pending"], task["resolved_share"]) == (1, 0, 1.0)
    deps.clock = lambda: NOW + 49 * 3600
    assert widget.settle_hint_outcomes(deps, ACCOUNT.id) == {"settled": 1, "resolved": 0}
    stuck = usefulness_of(deps, STUCK)
    assert (stuck["unresolved_48h"], stuck["pending"], stuck["resolved_share"]) == (1, 0, 0.0)


def test_the_48h_outcome_job_is_queued_once_per_hour(client, settings, world, deps):
    codes(client, settings, MINE)
    codes(client, settings, OTHER, MIKHAIL_DEAL.id)
    scheduled = deps.queues["insights"].scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1
    job = deps.queues["insights"].fetch_job(scheduled[0])
    assert job.func_name == "service.jobs.settle_hint_outcomes" and job.args == [ACCOUNT.id]


def test_panel_shows_usefulness_per_rule(client, settings, world):
    codes(client, settings, MINE)
    feedback(client, settings, MINE)
    rows = call(client, settings, "GET", "/panel", ADMIN).json["usefulness"]
    stuck = next(r for r in rows if r["code"] == STUCK)
    assert (stuck["shown"], stuck["snoozed"]) == (1, 1)


CARD_STUCK = hint(STUCK, "critical", 31, evidence={"stage_name": "Переговоры"})
