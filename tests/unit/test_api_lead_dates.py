"""API v4 leads: date-typed custom_fields_values become the lead's date fields; a sync page records what moved."""
import json

from service.amocrm.schemas import DateFieldSchema, LeadSchema, load_each
from service.model import CloseDateChange, DateField
from service.services.sync_apply import synced_date_changes
from tests.support.samples import DATA

SAMPLE = json.loads((DATA / "samples" / "api" / "leads_list.json").read_text())["_embedded"]["leads"][0]
# The docs' example values of date, date_time and birthday fields (custom-fields, "date, date_time, birthday"),
# with the keys a read returns (field_name, field_code, field_type), beside fields of other types.
def field(field_id, name, field_type, *values) -> dict:
    return {"field_id": field_id, "field_name": name, "field_code": None, "field_type": field_type,
            "values": list(values)}


VALUES = [field(9, "Дата", "date", {"value": 1577836800}),
          field(109, "Дата и время", "date_time", {"value": 1591965296}),
          field(209, "День рождения", "birthday", {"value": 1586476800}),
          field(303, "Число", "numeric", {"value": "100"}), field(5, "Флаг", "checkbox", {"value": True}),
          field(11, "Список", "select", {"value": "Значение 1", "enum_id": 17, "enum_code": None})]


def load(custom_fields_values, **changes):
    return LeadSchema().load({**SAMPLE, "custom_fields_values": custom_fields_values, **changes})


def test_the_verbatim_sample_without_custom_fields_has_no_dates():
    assert LeadSchema().load(SAMPLE).date_fields == ()  # "custom_fields_values": null


def test_only_date_typed_fields_are_kept_by_field_id():
    assert load(VALUES).date_fields == ((9, 1577836800), (109, 1591965296), (209, 1586476800))


def test_an_rfc3339_date_is_read_and_a_malformed_entry_is_skipped_not_fatal():
    odd = [{"field_id": 1, "field_type": "date", "values": [{"value": "2020-01-01T00:00:00+03:00"}]},
           {"field_id": 2, "field_type": "date", "values": [{"value": "2020-01-01"}]},  # no offset: not RFC 3339
           {"field_id": 3, "field_type": "date", "values": []}, {"field_id": 4, "field_type": "date"},
           {"field_id": "x", "field_type": "date", "values": [{"value": 1}]}, "junk",
           {"field_id": 6, "field_type": "date", "values": [{"value": -86400}]}]
    lead = load(odd)
    assert (lead.id, lead.date_fields) == (19619, ((1, 1577826000),))


def test_a_page_newer_than_the_mirror_records_each_moved_date_at_the_leads_updated_at():
    held = load(VALUES[:2], updated_at=1_700_000_000)
    synced = load([{**VALUES[0], "values": [{"value": 1578441600}]}], updated_at=1_700_086_400)
    assert synced_date_changes({held.id: held}, [synced]) == [
        CloseDateChange(lead_id=19619, at=1_700_086_400, old=1577836800, new=1578441600, field_id=9),
        CloseDateChange(lead_id=19619, at=1_700_086_400, old=1591965296, new=None, field_id=109)]


def test_a_page_older_than_the_mirror_or_a_first_sight_records_nothing():
    newer = load([{**VALUES[0], "values": [{"value": 1578441600}]}], updated_at=1_700_086_400)
    older = load(VALUES[:1], updated_at=1_700_000_000)
    assert synced_date_changes({newer.id: newer}, [older]) == []  # a webhook got there first
    assert synced_date_changes({}, [older]) == []  # nothing to compare with: not a move
    assert synced_date_changes({newer.id: newer}, [newer]) == []  # a replayed page


def test_the_lead_fields_list_keeps_the_date_typed_fields_with_their_names():
    listed = json.loads((DATA / "samples" / "api" / "custom_fields_list.json").read_text())["_embedded"]
    more = [{"id": 7, "name": "Созвон", "type": "date_time"}, {"id": 8, "name": "ДР", "type": "birthday"},
            {"name": "без id", "type": "date"}]
    fields, problems = load_each(DateFieldSchema(), listed["custom_fields"] + more)
    assert fields == [DateField(4440043, "Пример поля с типом 'data'", "date"), DateField(7, "Созвон", "date_time"),
                      DateField(8, "ДР", "birthday")]  # the text field is not a candidate
    assert len(problems) == 1  # the one without an id: reported, not fatal
