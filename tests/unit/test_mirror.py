"""Folding lead events into the mirror is idempotent and order-safe."""
import json
from dataclasses import asdict

from service.model import LeadEvent
from service.mirror import CLOCK_SKEW, apply_lead_event, date_changes, supersedes
from service.model import CloseDateChange, Lead

LEAD = Lead(id=1, pipeline_id=10, status_id=100, responsible_user_id=7, price=500, updated_at=1000,
            stage_entered_at=900)


def event(**kw) -> LeadEvent:
    base = dict(action="update", id=1, status_id=100, pipeline_id=10, updated_at=2000, date_fields=())  # a full hook
    return LeadEvent(**{**base, **kw})


def test_status_change_records_when_the_stage_was_entered():
    moved = apply_lead_event(LEAD, event(action="status", status_id=101, old_status_id=100))
    assert (moved.status_id, moved.stage_entered_at) == (101, 2000)


def test_update_in_the_same_stage_keeps_the_entry_time():
    assert apply_lead_event(LEAD, event(price=900)).stage_entered_at == 900


def test_pipeline_move_is_a_stage_change():
    moved = apply_lead_event(LEAD, event(action="status", pipeline_id=11, status_id=100))
    assert (moved.pipeline_id, moved.stage_entered_at) == (11, 2000)


def test_older_event_changes_nothing():
    assert apply_lead_event(LEAD, event(status_id=555, updated_at=999)) is LEAD


def test_newer_wins_for_both_writers_a_tie_or_an_undated_change_applies():
    """One rule for webhook events and API pages alike (issue 19)."""
    from service.model import Task, TaskEvent
    assert supersedes(None, event(updated_at=1))
    assert supersedes(LEAD, event(updated_at=1000)) and supersedes(LEAD, event(updated_at=1001))
    assert not supersedes(LEAD, event(updated_at=999))
    assert supersedes(LEAD, event(updated_at=None))  # a short body: nothing orders it
    listed = Lead(id=1, pipeline_id=10, status_id=100, responsible_user_id=7, updated_at=999)
    assert not supersedes(LEAD, listed) and supersedes(listed, LEAD)
    held = Task(id=5, lead_id=1, responsible_user_id=7, complete_till=0, is_completed=False, updated_at=50)
    assert not supersedes(held, TaskEvent("update", 5, 1, 7, 0, False, updated_at=49))
    assert supersedes(held, TaskEvent("update", 5, 1, 7, 0, False))  # no time sent (0)


def test_same_event_twice_is_the_same_lead():
    once = apply_lead_event(LEAD, event(action="status", status_id=101))
    assert apply_lead_event(once, event(action="status", status_id=101)) == once


def test_missing_fields_keep_what_we_had():
    assert apply_lead_event(LEAD, event()).price == 500


def test_new_lead_from_add_entered_its_stage_when_created():
    lead = apply_lead_event(None, event(action="add", created_at=1500, price=10, responsible_user_id=3))
    assert (lead.stage_entered_at, lead.price, lead.responsible_user_id) == (1500, 10, 3)


def test_delete_marks_the_lead_and_closes_its_hints():
    assert not apply_lead_event(LEAD, event(action="delete")).is_open
    # An unknown lead's delete leaves a tombstone (it was None: a held-back change then created the lead).
    assert apply_lead_event(None, event(action="delete", received_at=5000)).is_deleted


# --- deletes that stick: a delete's time is when we stored it; only a provably newer change undoes it
def deleted_at_5000(lead=LEAD):
    return apply_lead_event(lead, LeadEvent(action="delete", id=1, status_id=100, pipeline_id=10, received_at=5000))


def test_a_held_back_update_stamped_before_the_delete_does_not_resurrect_the_lead():
    late = apply_lead_event(deleted_at_5000(), event(updated_at=4000, status_id=101))
    assert (late.is_deleted, late.deleted_at, late.status_id) == (True, 5000, 101)


def test_a_held_back_update_does_not_create_a_lead_deleted_before_we_knew_it():
    assert apply_lead_event(deleted_at_5000(None), event(action="add", updated_at=4000)).is_deleted


def test_a_restore_brings_the_lead_back():
    back = apply_lead_event(deleted_at_5000(), event(action="restore", updated_at=4500))
    assert (back.is_deleted, back.deleted_at, back.is_open) == (False, 0, True)


def test_a_change_made_after_we_learnt_of_the_delete_brings_the_lead_back():
    assert not apply_lead_event(deleted_at_5000(), event(updated_at=5000 + CLOCK_SKEW + 1)).is_deleted


def test_a_change_stamped_within_the_clock_skew_of_the_delete_is_no_proof():
    assert apply_lead_event(deleted_at_5000(), event(updated_at=5000 + CLOCK_SKEW)).is_deleted


def test_a_second_delivery_of_the_delete_keeps_the_first_time():
    again = apply_lead_event(deleted_at_5000(), LeadEvent(action="delete", id=1, status_id=100, pipeline_id=10,
                                                          received_at=4000))
    assert again.deleted_at == 5000


# --- closing: a move into won or lost sets closed_at; a loss reason when the hook carries one
def test_a_move_into_lost_closes_the_lead_with_the_reason_carried():
    lost = apply_lead_event(LEAD, event(action="status", status_id=143, loss_reason_id=9))
    assert (lost.closed_at, lost.loss_reason_id, lost.is_open) == (2000, 9, False)


def test_a_move_into_won_closes_it_and_reopening_clears_closed_at():
    won = apply_lead_event(LEAD, event(action="status", status_id=142))
    assert won.closed_at == 2000
    reopened = apply_lead_event(won, event(action="status", status_id=100, updated_at=3000))
    assert (reopened.closed_at, reopened.loss_reason_id) == (None, None)


def test_an_update_in_lost_without_a_reason_keeps_the_known_one():
    lost = apply_lead_event(LEAD, event(action="status", status_id=143, loss_reason_id=9))
    assert apply_lead_event(lost, event(status_id=143, updated_at=3000, price=1)).loss_reason_id == 9


# --- date fields (the planned close date is one of them) and their changes
CLOSE, OTHER, DAY = 957903, 957904, 86400
MAY_12, MAY_19, MAY_26 = 1747008000, 1747612800, 1748217600


def fold(lead, *events):
    """Apply events in arrival order as the intake does; return the mirror and the date changes recorded."""
    changes = []
    for e in events:
        after = apply_lead_event(lead, e)
        changes += date_changes(lead, after, e.updated_at)
        lead = after
    return lead, changes


def test_a_newer_event_that_moves_a_date_records_the_change_at_its_own_time():
    dated = apply_lead_event(LEAD, event(date_fields=((CLOSE, MAY_12), (OTHER, 1))))
    lead, changes = fold(dated, event(updated_at=3000, date_fields=((CLOSE, MAY_19), (OTHER, 1))))
    assert lead.date_fields == ((CLOSE, MAY_19), (OTHER, 1))
    assert changes == [CloseDateChange(lead_id=1, at=3000, old=MAY_12, new=MAY_19, field_id=CLOSE)]


def test_an_older_event_neither_moves_the_date_nor_records_a_change():
    dated = apply_lead_event(LEAD, event(updated_at=3000, date_fields=((CLOSE, MAY_19),)))
    lead, changes = fold(dated, event(updated_at=2500, date_fields=((CLOSE, MAY_12),)))
    assert (lead, changes) == (dated, [])


def test_reordered_events_end_on_the_newest_date_and_never_record_a_move_backwards():
    first, second = (event(updated_at=3000, date_fields=((CLOSE, MAY_19),)),
                     event(updated_at=4000, date_fields=((CLOSE, MAY_26),)))
    start = apply_lead_event(LEAD, event(date_fields=((CLOSE, MAY_12),)))
    in_order, late = fold(start, first, second), fold(start, second, first)
    assert in_order[0].date_fields == late[0].date_fields == ((CLOSE, MAY_26),)
    assert [(c.old, c.new) for c in in_order[1]] == [(MAY_12, MAY_19), (MAY_19, MAY_26)]
    assert [(c.at, c.old, c.new) for c in late[1]] == [(4000, MAY_12, MAY_26)]  # the overtaken step is folded in


def test_a_duplicated_event_records_its_change_once():
    start = apply_lead_event(LEAD, event(date_fields=((CLOSE, MAY_12),)))
    moved = event(updated_at=3000, date_fields=((CLOSE, MAY_19),))
    assert len(fold(start, moved, moved)[1]) == 1


def test_a_date_left_out_of_a_newer_hook_was_cleared():
    start = apply_lead_event(LEAD, event(date_fields=((CLOSE, MAY_12),)))
    lead, changes = fold(start, event(updated_at=3000))
    assert lead.date_fields == () and [(c.old, c.new) for c in changes] == [(MAY_12, None)]


def test_a_new_lead_brings_its_dates_and_a_delete_keeps_them_without_a_change():
    lead, changes = fold(None, event(action="add", created_at=1500, date_fields=((CLOSE, MAY_12),)))
    assert (lead.date_fields, changes) == (((CLOSE, MAY_12),), [])
    deleted, changes = fold(lead, event(action="delete", updated_at=0))
    assert (deleted.is_deleted, deleted.date_fields, changes) == (True, ((CLOSE, MAY_12),), [])


def test_dates_read_back_from_json_equal_the_dates_written():
    dated = apply_lead_event(LEAD, event(date_fields=((CLOSE, MAY_12),)))
    decoded = Lead(**json.loads(json.dumps(asdict(dated))))
    assert decoded == dated and apply_lead_event(decoded, event(date_fields=((CLOSE, MAY_12),))) == dated


def test_a_mirror_written_before_date_fields_still_decodes():
    old_record = {**asdict(LEAD), "close_date": None}
    del old_record["date_fields"]
    assert Lead(**old_record) == LEAD


# --- issue 16: group rights follow group_id, which a responsible_lead webhook does not carry
GROUPED = Lead(id=1, pipeline_id=10, status_id=100, responsible_user_id=7, updated_at=1000, group_id=20)


def test_a_hand_over_moves_the_lead_to_the_new_responsibles_group():
    handed = apply_lead_event(GROUPED, event(action="responsible", responsible_user_id=8), {8: 30, 7: 20})
    assert (handed.responsible_user_id, handed.group_id) == (8, 30)


def test_a_hand_over_to_a_user_the_mirror_does_not_know_leaves_the_group_unknown_not_the_old_one():
    handed = apply_lead_event(GROUPED, event(action="responsible", responsible_user_id=9), {})
    assert handed.group_id == 0


def test_an_update_without_a_hand_over_keeps_the_group():
    assert apply_lead_event(GROUPED, event(responsible_user_id=7, price=900), {7: 99}).group_id == 20


def test_a_lead_first_seen_in_a_webhook_takes_its_responsibles_group():
    assert apply_lead_event(None, event(action="add", responsible_user_id=8), {8: 30}).group_id == 30
