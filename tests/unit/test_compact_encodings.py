"""Compact encodings of the mirror (issue 22): positional rows, deflated cards, bucket keys."""
import json
from dataclasses import fields

import pytest

from service.model import Call, CloseDateChange, Lead, StageChange, Task
from service.store.compact import KEY_FIELD, ORDER, decode_card, encode_card, pack, unpack
from service.store.keys import BUCKETS, bucket_key, bucket_keys

LEAD = Lead(id=20000205, pipeline_id=8000002, status_id=60000011, responsible_user_id=7000002, price=25800.5,
            name="Сделка: «Белов»\n\"кавычки\"", created_at=1778405421, updated_at=1795972426, closed_at=None,
            stage_entered_at=1795972426, loss_reason_id=None, group_id=3, source="сайт",
            date_fields=((700001, 1780704000),), is_deleted=True, deleted_at=1795972427)
TASK = Task(id=90000768, lead_id=20000227, responsible_user_id=7000004, complete_till=1780057751, is_completed=True,
            created_at=1780017222, updated_at=1780153772, completed_at=1780153772, task_type_id=2,
            text="Перезвонить клиенту")
FACTS = [StageChange(5, 100, 1, 2, None, None), StageChange(5, -7, 1, 2, 1, 1), Call(5, 10, 0, 'in\n"at":1,', 0),
         CloseDateChange(5, 20, None, 1000, 3)]


@pytest.mark.parametrize("record", [LEAD, TASK, Lead(1, 2, 3, 4), Task(9, 1, 2, 3), *FACTS])
def test_a_record_comes_back_equal_from_its_row_and_key(record):
    row = json.loads(pack(record))
    assert unpack(type(record), getattr(record, KEY_FIELD[type(record)]), row) == record


@pytest.mark.parametrize("cls", list(ORDER))
def test_every_field_of_a_model_has_a_place_in_its_row(cls):
    assert set(ORDER[cls]) | {KEY_FIELD[cls]} == {f.name for f in fields(cls)}
    assert KEY_FIELD[cls] not in ORDER[cls]


def test_rows_carry_no_field_names_and_no_trailing_defaults():
    assert pack(Lead(1, 2, 3, 4)) == '[2,3,4]'
    assert pack(Task(9, 1, 2, 3)) == '[1,2,3]'
    assert pack(StageChange(5, 100, 1, 2)) == '[100,1,2]'
    assert json.loads(pack(LEAD))[4] == LEAD.name  # UTF-8 text, not \\u escapes


def test_defaults_inside_a_row_are_kept_and_zero_is_not_false():
    assert json.loads(pack(Lead(1, 2, 3, 4, price=0.0))) == [2, 3, 4, 0.0]
    assert unpack(Lead, 1, [2, 3, 4, 0.0]).price == 0.0
    assert unpack(Task, 9, [1, 2, 3, False, None, 0, 0, "", 1]) == Task(9, 1, 2, 3)


def test_fields_a_short_row_lacks_stay_unknown_never_zero():
    lead = unpack(Lead, 1, [2, 3, 4, 100])  # a row written before closed_at and loss_reason_id existed
    assert (lead.closed_at, lead.loss_reason_id, lead.date_fields) == (None, None, ())
    task = unpack(Task, 9, [1, 2, 3, True])
    assert task.is_completed and task.completed_at is None
    change = unpack(StageChange, 5, [100, 1, 2])
    assert (change.old_pipeline_id, change.old_status_id) == (None, None)
    assert pack(CloseDateChange(5, 20, None, None)) == '[20,null,null]'  # a field without a default is always written


def test_a_card_comes_back_as_the_same_document_and_is_small():
    card = {"lead_id": 20000205, "as_of": 1796646179, "hints": [
        {"code": "overdue_task", "severity": "critical", "value": 30.62, "unit": "hours",
         "text": {"ru": "Задача «Назначить встречу» просрочена на 31 час", "en": "Task overdue by 31 hours"},
         "evidence": {"task_id": 10 ** 40}}]}
    stored = encode_card(card)
    assert decode_card(stored) == card
    assert len(stored) < len(json.dumps(card, ensure_ascii=False).encode()) / 2
    assert decode_card(encode_card({"lead_id": 1, "as_of": None, "hints": []})) == \
        {"lead_id": 1, "as_of": None, "hints": []}


def test_a_card_stored_as_plain_json_still_reads_and_none_is_none():
    assert decode_card(b'{"lead_id": 1, "hints": []}') == {"lead_id": 1, "hints": []}
    assert decode_card(None) is None


def test_bucket_boundaries_spread_sparse_ids_by_modulo():
    n = BUCKETS["leads"]
    assert bucket_key(42, "leads", n - 1) == f"acct:{{42}}:leads:{n - 1}"
    assert bucket_key(42, "leads", n) == "acct:{42}:leads:0" == bucket_key(42, "leads", 0)
    assert bucket_key(42, "leads", 20_000_000 + n + 1) == bucket_key(42, "leads", 1)
    assert bucket_key(42, "timeline", 7, "calls") == "acct:{42}:timeline:calls:7"
    assert bucket_key(42, "tasks", BUCKETS["tasks"]) != bucket_key(42, "tasks", BUCKETS["tasks"] - 1)
    assert len(set(bucket_keys(42, "tasks"))) == BUCKETS["tasks"]
    assert bucket_key(42, "cards", 10 ** 300) in bucket_keys(42, "cards")  # a hostile id still names a bucket


def test_a_big_document_is_stored_deflated_and_a_small_one_as_plain_json():
    from service.store.compact import BIG_DOCUMENT, decode_document, encode_document

    big = {"pipelines": {str(p): [[p, "Этап", k, 10 ** 20] for k in range(300)] for p in range(20)}}
    stored = encode_document(big)
    assert decode_document(stored) == big and len(stored) < BIG_DOCUMENT < len(json.dumps(big))
    small = {"working_hours": {"from": 9, "to": 18}, "текст": "да"}
    assert encode_document(small) == json.dumps(small, ensure_ascii=False).encode()
    assert decode_document(encode_document(small)) == small and decode_document(None) is None
