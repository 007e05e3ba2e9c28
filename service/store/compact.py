"""Compact encodings of the mirror (issue 22): records as positional JSON arrays, cards deflated with a preset
dictionary. A large account holds about a million such records; field names repeated in each were most of its bytes.

A positional row holds the values in the order ORDER fixes for its class, without the id its hash field already
names (and, in a timeline, without the lead id). The order is fixed forever: a field added to a model is appended
here, and rows written before it decode with the field's default (None where a value may be unknown), never with
a made-up zero. Trailing values equal to their defaults are not written.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import MISSING, fields
from functools import cache
from pathlib import Path
from typing import Iterable, Optional

from service.model import Call, CloseDateChange, IncomingLead, Lead, StageChange, Task
from service.store.records import record_builder

ORDER = {
    Lead: ("pipeline_id", "status_id", "responsible_user_id", "price", "name", "created_at", "updated_at",
           "closed_at", "stage_entered_at", "loss_reason_id", "group_id", "source", "date_fields", "is_deleted",
           "deleted_at"),
    Task: ("lead_id", "responsible_user_id", "complete_till", "is_completed", "completed_at", "created_at",
           "updated_at", "text", "task_type_id"),
    # Timeline rows: "at" first, the merge script in timelines.py sorts by it.
    StageChange: ("at", "pipeline_id", "status_id", "old_pipeline_id", "old_status_id"),
    Call: ("at", "duration", "direction", "user_id"),
    CloseDateChange: ("at", "old", "new", "field_id"),
    IncomingLead: ("created_at", "category", "source_name", "lead_id", "accepted"),
}
KEY_FIELD = {Lead: "id", Task: "id", StageChange: "lead_id", Call: "lead_id", CloseDateChange: "lead_id",
             IncomingLead: "id"}

_NO_DEFAULT = object()


@cache
def _defaults(cls) -> tuple:
    """Each ORDER field's default (or a marker for none), to trim trailing defaults."""
    by_name = {f.name: f.default for f in fields(cls)}
    return tuple(_NO_DEFAULT if by_name[name] is MISSING else by_name[name] for name in ORDER[cls])


def pack(record) -> str:
    """One record as a positional JSON array (no spaces, UTF-8 text, trailing defaults left out)."""
    cls = type(record)
    values = [getattr(record, name) for name in ORDER[cls]]
    defaults = _defaults(cls)
    while values and defaults[len(values) - 1] is not _NO_DEFAULT and _same(values[-1], defaults[len(values) - 1]):
        values.pop()
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _same(value, default) -> bool:
    """Equal and of the same kind (0 is not False, () is [] once stored)."""
    if isinstance(value, (tuple, list)) and isinstance(default, (tuple, list)):
        return list(value) == list(default)
    return type(value) is type(default) and value == default


def unpack(cls, key: int, row: list):
    """A record back from its hash field (`key`) and positional row: fields the row lacks take their defaults."""
    return unpack_many(cls, [key], [row])[0]


def unpack_many(cls, keys: Iterable[int], rows: Iterable[list]) -> list:
    """Many records of one class."""
    names, key_field, build = ORDER[cls], KEY_FIELD[cls], record_builder(cls)
    out = []
    for key, row in zip(keys, rows):
        doc = dict(zip(names, row))
        doc[key_field] = key
        out.append(build(doc))
    return out


# --- cards: the card read returns the stored document, so it is kept whole, deflated against a frozen dictionary of
# typical hints (their keys, Russian and English texts). A card is ~460 bytes of JSON, ~60 deflated with it, ~220
# without; inflating one costs ~2 µs. The first byte names the dictionary: a new dictionary gets a new byte and a new
# file, the old one stays for the cards still stored with it. A value starting with "{" is plain JSON.
_CARD_DICTS = {1: (Path(__file__).with_name("card_dict_v1.txt")).read_bytes()}
_CARD_DICT_NOW = 1


def encode_card(card: dict) -> bytes:
    """A card document as stored: its dictionary's byte, then raw deflate of its JSON."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _CARD_DICTS[_CARD_DICT_NOW])
    body = json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode()
    return bytes([_CARD_DICT_NOW]) + packer.compress(body) + packer.flush()


def decode_card(raw: Optional[bytes]) -> Optional[dict]:
    """A stored card back (None for none)."""
    if not raw:
        return None
    if raw[:1] == b"{":
        return json.loads(raw)
    unpacker = zlib.decompressobj(-15, _CARD_DICTS[raw[0]])
    return json.loads(unpacker.decompress(raw[1:]) + unpacker.flush())


# --- insight documents (team, forecast, the panel's cube, ...): one JSON value each. Those past BIG_DOCUMENT (the
# cube: ~7 MB of JSON on a 20,000-deal account, a fifth of its memory) are stored zlib-compressed behind a marker
# byte; a web process parses the cube once per recompute, so inflating it costs once too. Small ones stay plain JSON
# (the card read fetches the settings document on every request).
BIG_DOCUMENT = 16 * 1024
_DEFLATED_DOCUMENT = b"\x02"


def encode_document(document) -> bytes:
    """A document as stored: JSON, deflated when big."""
    body = json.dumps(document, ensure_ascii=False).encode()
    return body if len(body) < BIG_DOCUMENT else _DEFLATED_DOCUMENT + zlib.compress(body, 6)


def decode_document(raw: Optional[bytes]):
    """A stored document back (None for none)."""
    if not raw:
        return None
    return json.loads(zlib.decompress(raw[1:]) if raw[:1] == _DEFLATED_DOCUMENT else raw)
