"""Spells: each stretch of time a lead spent in one open status, rebuilt from the stage history."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, NamedTuple, Optional

from service.model import CLOSED_STATUSES, Lead, StageChange


class Spell(NamedTuple):
    """One stay of one lead in one open status; `left_at` None means it is still there."""

    lead_id: int
    pipeline_id: int
    status_id: int
    entered_at: int
    left_at: Optional[int]
    next_status_id: Optional[int]  # where it went (142/143 when it closed)


def group_history(history: Iterable[StageChange]) -> dict[int, list[StageChange]]:
    """History per lead, each list in time order."""
    by_lead: dict[int, list[StageChange]] = defaultdict(list)
    for change in history:
        by_lead[change.lead_id].append(change)
    for changes in by_lead.values():
        changes.sort(key=lambda c: c.at)
    return dict(by_lead)


def lead_spells(lead: Lead, changes: list[StageChange], as_of: Optional[int] = None) -> list[Spell]:
    """The spells of one lead; with `as_of`, only what was known at that moment."""
    if as_of is not None:
        if lead.created_at > as_of:
            return []
        changes = [c for c in changes if c.at <= as_of]
    if not changes:
        return _without_history(lead, as_of)
    marks = _status_marks(lead, changes)
    if as_of is None and _current_status_missing(lead, marks):
        marks.append((max(lead.stage_entered_at, marks[-1][0]), lead.pipeline_id, lead.status_id))
    return _spells_from_marks(lead.id, marks)


def _without_history(lead: Lead, as_of: Optional[int]) -> list[Spell]:
    """A lead that never moved has been in its status since it was created."""
    if lead.status_id in CLOSED_STATUSES:
        return []
    entered = lead.stage_entered_at or lead.created_at
    if as_of is not None:
        entered = lead.created_at  # the stage entry known now may postdate as_of
    return [Spell(lead.id, lead.pipeline_id, lead.status_id, entered, None, None)]


def _status_marks(lead: Lead, changes: list[StageChange]) -> list[tuple[int, int, int]]:
    """(at, pipeline, status) marks, starting with the status the lead was created in."""
    first = changes[0]
    marks = []
    if first.old_status_id is not None:
        old_pipeline = first.old_pipeline_id or first.pipeline_id
        marks.append((min(lead.created_at, first.at), old_pipeline, first.old_status_id))
    for change in changes:
        # The same move seen by a webhook (the lead's updated_at) and by sync (the event's created_at) can
        # differ by a second; a status never follows itself, so a repeat is one move, kept at its first time.
        if not marks or marks[-1][1:] != (change.pipeline_id, change.status_id):
            marks.append((change.at, change.pipeline_id, change.status_id))
    return marks


def _current_status_missing(lead: Lead, marks: list[tuple[int, int, int]]) -> bool:
    """True when a lost webhook left the history behind the lead's current status."""
    _, pipeline, status = marks[-1]
    return (pipeline, status) != (lead.pipeline_id, lead.status_id) and not lead.is_deleted


def _spells_from_marks(lead_id: int, marks: list[tuple[int, int, int]]) -> list[Spell]:
    """Turn consecutive marks into spells; closed statuses absorb and have no spell."""
    spells = []
    for i, (at, pipeline, status) in enumerate(marks):
        if status in CLOSED_STATUSES:
            continue
        nxt = marks[i + 1] if i + 1 < len(marks) else None
        spells.append(Spell(lead_id, pipeline, status, at,
                            nxt[0] if nxt else None, nxt[2] if nxt else None))
    return spells


def build_spells(leads: Iterable[Lead], history_by_lead: dict[int, list[StageChange]],
                 as_of: Optional[int] = None) -> list[Spell]:
    """All spells of all non-deleted leads."""
    spells: list[Spell] = []
    for lead in leads:
        if not lead.is_deleted:
            spells.extend(lead_spells(lead, history_by_lead.get(lead.id, []), as_of))
    return spells


def status_at(lead: Lead, changes: list[StageChange], as_of: int) -> Optional[int]:
    """The lead's status at `as_of` as the history tells it (None when not yet created)."""
    if lead.created_at > as_of:
        return None
    status = None
    for change in changes:
        if change.at > as_of:
            break
        status = change.status_id
    if status is not None:
        return status
    if changes and changes[0].old_status_id is not None:
        return changes[0].old_status_id
    return lead.status_id if not changes else None
