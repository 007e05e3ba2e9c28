"""Folding lead events into the mirror is idempotent and order-safe."""
from service.amocrm.events import LeadEvent
from service.mirror import apply_lead_event
from service.model import Lead

LEAD = Lead(id=1, pipeline_id=10, status_id=100, responsible_user_id=7, price=500, updated_at=1000,
            stage_entered_at=900)


def event(**kw) -> LeadEvent:
    base = dict(action="update", id=1, status_id=100, pipeline_id=10, updated_at=2000)
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
    assert apply_lead_event(None, event(action="delete")) is None
