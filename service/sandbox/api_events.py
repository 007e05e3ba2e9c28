"""API v4 events: the time-sorted log, filtered by type, entity, author and created_at."""
from __future__ import annotations

import bisect

from . import render
from .api import bp, state
from .listing import as_ints, as_list, base_url, freeze, hal, nested_args, no_content, order_arg, paged, time_range
from .records import ENTITY_CODE, EVENT_CODE, EV_AT, EV_BY, EV_EID, EV_ETYPE, EV_TYPE


def event_rows(filters: dict, desc: bool) -> list:
    """Event rows matching filter[type|entity|entity_id|created_by|created_at] (cached)."""
    world = state().world
    key = ("events", world.version, freeze(filters), desc)
    return state().cache.get(key, lambda: select_events(world, filters, desc))


def type_codes(world, names: list) -> set:
    """Event type names to the compact codes (custom_field_{ID}_value_changed included)."""
    field_type = f"custom_field_{world.close_date_field['id']}_value_changed"
    return {EVENT_CODE["custom_field_value_changed"] if name == field_type else EVENT_CODE[name]
            for name in names if name in EVENT_CODE or name == field_type}


def select_events(world, filters: dict, desc: bool) -> list:
    """Scan the time-sorted log once: bisect the created_at range, then test the rest."""
    low, high = time_range(filters["created_at"], "filter.created_at") if "created_at" in filters else (
        -(2 ** 62), 2 ** 62)
    events = world.events
    start = bisect.bisect_left(events, low, key=lambda row: row[EV_AT])
    stop = bisect.bisect_right(events, high, key=lambda row: row[EV_AT])
    types = type_codes(world, as_list(filters.get("type"))) if "type" in filters else None
    entities = {ENTITY_CODE[e] for e in as_list(filters.get("entity")) if e in ENTITY_CODE} \
        if "entity" in filters else None
    entity_ids = as_ints(filters["entity_id"], "filter.entity_id") if "entity_id" in filters else None
    authors = as_ints(filters["created_by"], "filter.created_by") if "created_by" in filters else None
    rows = [row for row in events[start:stop]
            if (types is None or row[EV_TYPE] in types)
            and (entities is None or row[EV_ETYPE] in entities)
            and (entity_ids is None or row[EV_EID] in entity_ids)
            and (authors is None or row[EV_BY] in authors)]
    if desc:
        rows.reverse()
    return rows


@bp.get("/events")
def events():
    """Events, newest first by default; limit <= 100."""
    world, base = state().world, base_url()
    filters = nested_args("filter")
    field, desc = order_arg(("created_at", "id"), ("created_at", True))
    with world.lock:
        rows = event_rows(filters, desc)
        return paged("events", rows, lambda row: render.event(world, row, base), max_limit=100)


@bp.get("/events/<event_id>")
def event(event_id: str):
    """One event by its string id."""
    world = state().world
    try:
        seq = render.event_seq(event_id)
    except ValueError:
        return no_content()
    with world.lock:
        row = next((r for r in world.events if r[1] == seq), None)
        return hal(render.event(world, row, base_url())) if row else no_content()
