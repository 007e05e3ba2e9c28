"""web/dumping.py: a compiled dump answers exactly what marshmallow's dump answers (same keys in the same order, same
values and types, the same exception where marshmallow raises), on realistic answers and on many odd ones."""
import json
import random
from types import SimpleNamespace

from marshmallow import fields

from service.web import api
from service.web import schemas as s
from service.web.dumping import Unsupported, compiled, dumper
from tests.support.api import card, hint

CASES = 400  # random objects per answer schema


def outcome(dump, obj):
    """What a dump makes of `obj`: its JSON text (order and int/float kept), or the exception's class."""
    try:
        return "ok", json.dumps(dump(obj), ensure_ascii=False, default=repr)
    except Exception as exc:  # noqa: BLE001 — the class is what is compared
        return "raises", type(exc)


def junk(rng: random.Random):
    return rng.choice([None, 0, -3, 2 ** 70, 2.5, float("nan"), True, False, "", "42", " 7 ", "x", "текст",
                       b"bytes", b"\xff", [], [1, "a"], {}, {"a": 1}, ("k", 1), SimpleNamespace(code="c")])


def sample(field: fields.Field, rng: random.Random, depth: int = 0):
    """A value for `field`: mostly of its kind, sometimes None or anything at all."""
    if rng.random() < 0.15:
        return junk(rng)
    if isinstance(field, fields.Nested):
        return sample_object(field.schema, rng, depth + 1)
    if isinstance(field, fields.List):
        return [sample(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if isinstance(field, fields.Integer):
        return rng.choice([0, 7, -1, 2 ** 40, 1_760_000_000, 3.9, "12"])
    if isinstance(field, fields.Float):
        return rng.choice([0, 1.5, 7, -2.25, 1e300, "3.5", 10 ** 20])
    if isinstance(field, fields.Dict):
        return rng.choice([{}, {"stage_name": "Talks", "n": 3}, {"nested": {"a": [1, 2.5, None]}}])
    return rng.choice(["", "stuck_in_stage", "Сделка 120 дней", "a\nb", 5])


def sample_object(schema, rng: random.Random, depth: int = 0):
    """A dict for `schema` with some fields left out and an unknown one added; now and then an object instead."""
    if depth > 4:
        return None
    doc = {name: sample(field, rng, depth) for name, field in schema.dump_fields.items() if rng.random() < 0.85}
    doc["unknown_field"] = "dropped"
    if rng.random() < 0.05:
        return SimpleNamespace(**doc)
    return doc


def plain_answers():
    """Every answer schema of the API that compiles, built as the API builds them."""
    out = {}
    for route in api.ROUTES:
        try:
            compiled(route.answer(), False)
        except Unsupported:
            continue
        out[route.answer.__name__] = route.answer()
    return out


def test_the_card_answer_compiles():
    assert "Card" in plain_answers()


def test_a_compiled_dump_equals_marshmallows_on_real_cards():
    schema = s.Card()
    hints = [hint("stuck_in_stage", "critical", 20, evidence={"stage_name": "Talks"}),
             hint("no_open_task", "warning", 0, "tasks", evidence={"completed_tasks": 1}),
             {**hint("no_activity", "warning", 9.5), "threshold": None, "reasons": [
                 {"code": "no_activity", "severity": "warning", "value": 9, "unit": "days", "threshold": None,
                  "evidence": {}, "text": {"ru": "Тишина", "en": "Silence"}}],
              "problem": "no_activity-1", "situation": "s"}]
    for answer in ({**card(101, *hints), "hidden": 1}, {**card(5), "hidden": 0},
                   {"lead_id": 7, "as_of": None, "hints": [], "hidden": 0}):
        assert outcome(compiled(schema, False), answer) == outcome(schema.dump, answer)


def test_a_compiled_dump_equals_marshmallows_on_odd_answers():
    rng = random.Random(19)
    for name, schema in plain_answers().items():
        dump = dumper(schema)
        for _ in range(CASES):
            obj = sample_object(schema, rng)
            assert outcome(dump, obj) == outcome(schema.dump, obj), (name, obj)


def test_a_schema_with_anything_else_is_left_to_marshmallow():
    schema = s.Me()  # Boolean fields
    assert dumper(schema) == schema.dump
