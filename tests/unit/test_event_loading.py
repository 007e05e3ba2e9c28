"""The intake's field-by-field `load_item` gives exactly what marshmallow's `load` gives: the event or the errors."""
from hypothesis import HealthCheck, given, settings, strategies as st
from marshmallow import ValidationError

from service.amocrm import events as ev
from service.amocrm.form import items_of, parse_php_form
from service.amocrm.webhooks import KINDS, _schema
from tests.support.samples import DATA, webhook_bodies

VALUES = st.text(max_size=6) | st.sampled_from([
    "", "0", "2", "42", "²", "١٢", " 5", "-3", "+7", "1e9", "0x10", "4294967295", "4294967296", "9" * 30,
    "2025-04-13 10:00:00", "9999-99-99 99:99:99", '{"DURATION": 30}'])
NESTED = st.dictionaries(st.sampled_from(["0", "1", "id", "values", "value", "duration", "leads"]),
                         VALUES | st.dictionaries(st.sampled_from(["0", "1", "id", "value"]), VALUES, max_size=3),
                         max_size=4)
NAMES = sorted({name for _, _, cls in KINDS for name in cls._declared_fields}
               | {"last_modified", "date_create", "created_by", "unknown"})


def outcome(load, payload):
    try:
        return load(payload)
    except ValidationError as exc:
        return exc.messages


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), extra=st.dictionaries(st.sampled_from(NAMES), VALUES | NESTED, max_size=10),
       timezone=st.sampled_from(["Europe/Moscow", "Asia/Vladivostok", "Not/AZone"]), data=st.data())
def test_load_item_equals_load_for_any_item(kind, extra, timezone, data):
    group, actions, schema_class = kind
    schema = _schema(schema_class, timezone, group)
    required = {name: data.draw(st.integers(0, 10 ** 9).map(str))
                for name, field in schema_class._declared_fields.items() if field.required and name != "action"}
    item = {**required, **extra} if data.draw(st.booleans()) else extra
    payload = {**ev.flatten(item), "action": data.draw(st.sampled_from(actions))}
    assert outcome(schema.load_item, payload) == outcome(schema.load, payload)


def test_load_item_equals_load_for_every_shared_sample():
    loaded = 0
    for path in sorted((DATA / "samples" / "webhooks").glob("*.txt")):
        for body in webhook_bodies(path.name):
            form = parse_php_form(body)
            for group, actions, schema_class in KINDS:
                for action in actions:
                    for _, item in items_of((form.get(group) or {}).get(action)):
                        payload = {**ev.flatten(item), "action": action}
                        schema = _schema(schema_class, "Europe/Moscow", group)
                        assert outcome(schema.load_item, payload) == outcome(schema.load, payload)
                        loaded += 1
    assert loaded >= 8  # every lead item of the captures
