"""Answers dumped exactly as marshmallow dumps them, without its per-field machinery on every request.

A schema whose fields are all plain (Integer, Float, String, Dict, Nested, List of those; no hooks, no data_key,
attribute or dump_default) is compiled once into nested functions that do what each field's `_serialize` does;
any other schema is dumped by marshmallow itself. The card read spent about a third of its Python time in
marshmallow's dump (tests/unit/test_dumping.py holds the two equal on many answers).
"""
from __future__ import annotations

from typing import Any, Callable

from marshmallow import Schema, fields, missing
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import ensure_text_type, get_value

Dump = Callable[[Any], Any]


class Unsupported(Exception):
    """A schema or field this module does not compile (marshmallow dumps it)."""


def dumper(schema: Schema) -> Dump:
    """A function returning what `schema.dump(obj)` returns: compiled when the schema is plain, else its dump."""
    try:
        return compiled(schema, schema.many)
    except Unsupported:
        return schema.dump


def compiled(schema: Schema, many: bool) -> Dump:
    """Schema._serialize for a plain schema: declared fields in order, missing values left out."""
    if schema._hooks[PRE_DUMP] or schema._hooks[POST_DUMP] or schema.dict_class is not dict \
            or type(schema).get_attribute is not Schema.get_attribute:
        raise Unsupported(type(schema).__name__)
    plan = tuple((name, _field(field)) for name, field in schema.dump_fields.items() if _plain(name, field))

    def one(obj):
        out = {}
        for name, serialize in plan:
            value = _value(obj, name)
            if value is not missing:
                out[name] = serialize(value)
        return out

    if many:
        return lambda objs: [one(obj) for obj in objs] if objs is not None else one(objs)
    return one


def _plain(name: str, field: fields.Field) -> bool:
    """True for a field read and written under its own name with no default (else Unsupported)."""
    if field.data_key is not None or field.attribute is not None or field.dump_default is not missing \
            or "." in name:
        raise Unsupported(name)
    return True


def _value(obj, name: str):
    """marshmallow's utils.get_value for a plain key: obj[name], else the attribute, else missing."""
    if type(obj) is dict:
        value = obj.get(name, missing)
        return value if value is not missing else getattr(obj, name, missing)
    return get_value(obj, name, missing)


def _field(field: fields.Field) -> Dump:
    """The field's _serialize, for the field classes marshmallow ships (subclasses may override it: Unsupported)."""
    kind = type(field)
    if kind is fields.Integer and not field.as_string:
        return _none_or(int)
    if kind is fields.Float and not field.as_string:
        return _none_or(float)
    if kind is fields.String:
        return _none_or(ensure_text_type)
    if kind is fields.Dict and field.key_field is None and field.value_field is None:
        return _none_or(dict)
    if kind is fields.Nested and not field.only and not field.exclude:
        nested = field.schema
        return _none_or(compiled(nested, bool(nested.many or field.many)))
    if kind is fields.List:
        inner = _field(field.inner)
        return _none_or(lambda values: [inner(each) for each in values])
    raise Unsupported(kind.__name__)


def _none_or(convert: Dump) -> Dump:
    """None stays None (every field above returns None for None), anything else is converted."""
    return lambda value: None if value is None else convert(value)
