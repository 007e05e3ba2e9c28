"""The in-memory state of one sandbox amoCRM account, with the mutations amoCRM users make."""
from __future__ import annotations

import bisect
import threading
import time
import uuid
from typing import Callable, Optional

from .records import (EV_AT, ENTITY_CODE, EVENT_CODE, LOST, WON, Contact, Lead, Note, Task,
                      Unsorted)
from .settings import default_settings

Listener = Callable[[str, object, dict], None]


class World:
    """One amoCRM account: reference data, entities, the event log and webhook listeners."""

    def __init__(self, account: dict, settings: Optional[dict] = None, clock=time.time):
        self.account = account
        self.settings = default_settings() if settings is None else settings
        self.clock = clock
        self.lock = threading.RLock()
        self.users, self.groups, self.task_types = {}, [], []
        self.pipelines, self.loss_reasons = {}, {}
        self.leads, self.contacts, self.tasks, self.notes = {}, {}, {}, {}
        self.unsorted, self.hooks = {}, {}
        self.tasks_by_lead: dict[int, list] = {}
        self.events: list[tuple] = []
        self.loose_events = False  # a recorded event holds a value other than an int (control API arguments)
        self.close_date_field = {"id": 0, "name": "Планируемая дата закрытия"}
        self.version = 0
        self.next_ids: dict[str, int] = {}
        self.listeners: list[Listener] = []
        # Generator hints the simulator reuses (absent for accounts loaded from files):
        self.profiles: dict[int, tuple] = {}  # user id -> (skill, load)
        self.stage_profiles: dict[int, tuple] = {}  # status id -> (mean days, loss chance)
        self.pipeline_weights: list[tuple] = []  # (pipeline id, share of new deals)

    # ---- ids, time, events -------------------------------------------------------------
    def new_id(self, kind: str, start: int = 1) -> int:
        """Next id of a kind (leads, tasks, ...), above every id already present."""
        value = self.next_ids.get(kind, start)
        self.next_ids[kind] = value + 1
        return value

    def now(self) -> int:
        """The account clock in unix seconds."""
        return int(self.clock())

    def record_event(self, at: int, type_name: str, entity: str, entity_id: int, by: int,
                     a=0, b=0, c=0, d=0) -> tuple:
        """Append an event keeping the log sorted by created_at (live events may be late)."""
        row = (at, self.new_id("events"), EVENT_CODE[type_name], ENTITY_CODE[entity], entity_id,
               by, a, b, c, d)
        if not self.loose_events and set(map(type, row)) != {int}:
            self.loose_events = True  # eventjson renders such logs through dicts
        if not self.events or self.events[-1][EV_AT] <= at:
            self.events.append(row)
        else:
            bisect.insort(self.events, row)
        return row

    def touch(self) -> None:
        """Mark the state changed so cached list orders are rebuilt."""
        self.version += 1

    def emit(self, hook: str, record, extra: Optional[dict] = None) -> None:
        """Tell listeners (the webhook sender) about a change, amoCRM event name first."""
        for listener in list(self.listeners):
            listener(hook, record, extra or {})

    # ---- lookups -----------------------------------------------------------------------
    def status(self, pipeline_id: int, status_id: int):
        """The status object of a pipeline, or None."""
        pipeline = self.pipelines.get(pipeline_id)
        return next((s for s in pipeline.statuses if s.id == status_id), None) if pipeline else None

    def group_of(self, user_id: int) -> int:
        """The user's group id (0 is the default group)."""
        user = self.users.get(user_id)
        return (user.group_id or 0) if user else 0

    def live_lead(self, lead_id: int) -> Lead:
        """A lead that exists and is not deleted, or KeyError."""
        lead = self.leads.get(lead_id)
        if lead is None or lead.is_deleted:
            raise KeyError(f"lead {lead_id} not found")
        return lead

    def refresh_closest_task(self, lead: Lead) -> None:
        """Recompute closest_task_at from the lead's open tasks."""
        open_tills = [self.tasks[t].complete_till for t in self.tasks_by_lead.get(lead.id, ())
                      if not self.tasks[t].is_completed]
        lead.closest_task_at = min(open_tills) if open_tills else None

    # ---- lead mutations ----------------------------------------------------------------
    def add_lead(self, name: str, pipeline_id: int, status_id: Optional[int] = None, price: int = 0,
                 responsible_user_id: Optional[int] = None, by: int = 0, at: Optional[int] = None,
                 contact_ids=(), source_id: Optional[int] = None) -> Lead:
        """Create a lead (first working stage by default); records lead_added, sends add_lead."""
        with self.lock:
            at = self.now() if at is None else at
            pipeline = self.pipelines[pipeline_id]
            status_id = status_id or next(s.id for s in pipeline.statuses if s.type == 0)
            responsible = responsible_user_id or self.account["current_user_id"]
            lead = Lead(self.new_id("leads"), name, price, responsible, self.group_of(responsible),
                        status_id, pipeline_id, by, by, at, at, contact_ids=tuple(contact_ids),
                        source_id=source_id)
            self.leads[lead.id] = lead
            for cid in lead.contact_ids:
                self.contacts[cid].lead_ids.append(lead.id)
            self.record_event(at, "lead_added", "lead", lead.id, by, a=lead.id * 10 + 1)
            self.touch()
            self.emit("add_lead", lead)
            return lead

    def move_lead(self, lead_id: int, status_id: int, pipeline_id: Optional[int] = None,
                  loss_reason_id: Optional[int] = None, by: int = 0, at: Optional[int] = None) -> Lead:
        """Move a lead to a stage (142 won, 143 lost); records lead_status_changed."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            pipeline_id = pipeline_id or lead.pipeline_id
            if self.status(pipeline_id, status_id) is None:
                raise ValueError(f"status {status_id} is not in pipeline {pipeline_id}")
            old_status, old_pipeline = lead.status_id, lead.pipeline_id
            lead.status_id, lead.pipeline_id = status_id, pipeline_id
            lead.closed_at = at if status_id in (WON, LOST) else None
            lead.loss_reason_id = loss_reason_id if status_id == LOST else None
            lead.updated_at, lead.updated_by = at, by
            self.record_event(at, "lead_status_changed", "lead", lead.id, by,
                              old_status, old_pipeline, status_id, pipeline_id)
            self.touch()
            self.emit("status_lead", lead, {"old_status_id": old_status, "old_pipeline_id": old_pipeline})
            self.emit("update_lead", lead)
            return lead

    def robot_move(self, lead_id: int, status_id: int, at: Optional[int] = None) -> Lead:
        """A Digital Pipeline robot moves the lead and its "webhook" action sends the short body (real/wh10-wh12):
        ids and stages only, no time, price or fields."""
        with self.lock:
            lead = self.live_lead(lead_id)
            old_status, old_pipeline = lead.status_id, lead.pipeline_id
            # Only the short body goes out: what our side makes of it alone (as when amoCRM's full status hook is
            # lost) is what the tests check.
            listeners, self.listeners = self.listeners, []
            try:
                self.move_lead(lead_id, status_id, by=0, at=at)
            finally:
                self.listeners = listeners
            self.emit("dp_status_lead", lead, {"old_status_id": old_status, "old_pipeline_id": old_pipeline})
            return lead

    def add_message(self, lead_id: int, text: str, at: Optional[int] = None) -> dict:
        """A client writes in a chat bound to the lead: `message[add]` goes to hooks that subscribed to it (an admin
        can tick it on any hook in the account UI: real/wh07)."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            message = {"id": str(uuid.uuid4()), "chat_id": str(uuid.uuid4()), "talk_id": self.new_id("talks"),
                       "contact_id": (lead.contact_ids or [0])[0], "text": text, "created_at": at,
                       "element_type": 2, "entity_type": "lead", "element_id": lead.id, "entity_id": lead.id,
                       "type": "incoming", "origin": "telegram"}
            self.emit("add_message", message)
            return message

    def set_responsible(self, lead_id: int, user_id: int, by: int = 0, at: Optional[int] = None) -> Lead:
        """Hand a lead to another manager; records entity_responsible_changed."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            old = lead.responsible_user_id
            lead.responsible_user_id, lead.group_id = user_id, self.group_of(user_id)
            lead.updated_at, lead.updated_by = at, by
            self.record_event(at, "entity_responsible_changed", "lead", lead.id, by, old, user_id)
            self.touch()
            self.emit("responsible_lead", lead, {"old_responsible_user_id": old})
            self.emit("update_lead", lead)
            return lead

    def set_close_date(self, lead_id: int, close_date: int, by: int = 0, at: Optional[int] = None) -> Lead:
        """Set the planned close date field; records custom_field_{ID}_value_changed."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            old, lead.close_date = lead.close_date or 0, close_date
            lead.updated_at, lead.updated_by = at, by
            self.record_event(at, "custom_field_value_changed", "lead", lead.id, by, old, close_date)
            self.touch()
            self.emit("update_lead", lead)
            return lead

    def delete_lead(self, lead_id: int, by: int = 0, at: Optional[int] = None) -> Lead:
        """Delete a lead (kept with is_deleted); records lead_deleted, sends delete_lead."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            lead.is_deleted, lead.updated_at, lead.updated_by = True, at, by
            self.record_event(at, "lead_deleted", "lead", lead.id, by)
            self.touch()
            self.emit("delete_lead", lead)
            return lead

    # ---- tasks, calls, contacts, incoming ----------------------------------------------
    def add_task(self, lead_id: int, text: str, complete_till: int, responsible_user_id: Optional[int] = None,
                 task_type_id: int = 1, by: int = 0, at: Optional[int] = None) -> Task:
        """Add a task to a lead; records task_added, sends add_task."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            responsible = responsible_user_id or lead.responsible_user_id
            task = Task(self.new_id("tasks"), lead.id, responsible, self.group_of(responsible),
                        task_type_id, text, complete_till, by, by, at, at)
            self.tasks[task.id] = task
            self.tasks_by_lead.setdefault(lead.id, []).append(task.id)
            self.refresh_closest_task(lead)
            self.record_event(at, "task_added", "task", task.id, by)
            self.touch()
            self.emit("add_task", task)
            return task

    def complete_task(self, task_id: int, result_text: Optional[str] = None, by: int = 0,
                      at: Optional[int] = None) -> Task:
        """Complete a task; records task_completed, sends update_task."""
        with self.lock:
            task, at = self.tasks[task_id], self.now() if at is None else at
            task.is_completed, task.result_text = True, result_text
            task.updated_at, task.updated_by = at, by
            lead = self.leads.get(task.entity_id)
            if lead is not None:
                self.refresh_closest_task(lead)
            self.record_event(at, "task_completed", "task", task.id, by)
            self.touch()
            self.emit("update_task", task, {"action_close": 1})
            return task

    def log_call(self, lead_id: int, direction: str, duration: int, by: int = 0,
                 at: Optional[int] = None, phone: str = "+79990000000") -> Note:
        """Log a call note (call_in/call_out) on a lead; records incoming_/outgoing_call."""
        with self.lock:
            lead, at = self.live_lead(lead_id), self.now() if at is None else at
            note_type = "call_in" if direction == "in" else "call_out"
            user = by or lead.responsible_user_id
            # The note's author is the person on the call; its responsible user is the deal's (real/api08):
            # they differ when someone calls on a colleague's deal.
            note = Note(self.new_id("notes"), lead.id, note_type, user, at, lead.responsible_user_id,
                        self.group_of(user), duration, phone, str(uuid.uuid4()))
            self.notes[note.id] = note
            kind = "incoming_call" if direction == "in" else "outgoing_call"
            self.record_event(at, kind, "lead", lead.id, user, note.id)
            self.touch()
            self.emit("note_lead", note)
            return note

    def add_contact(self, name: str, phone: str = "", lead_ids=(), responsible_user_id: Optional[int] = None,
                    by: int = 0, at: Optional[int] = None) -> Contact:
        """Create a contact linked to leads; records contact_added, sends add_contact."""
        with self.lock:
            at = self.now() if at is None else at
            responsible = responsible_user_id or self.account["current_user_id"]
            contact = Contact(self.new_id("contacts"), name, responsible, self.group_of(responsible), by,
                              at, at, phone, list(lead_ids))
            self.contacts[contact.id] = contact
            for lead_id in lead_ids:
                lead = self.leads[lead_id]
                lead.contact_ids = lead.contact_ids + (contact.id,)
            self.record_event(at, "contact_added", "contact", contact.id, by, contact.id * 10 + 2)
            self.touch()
            self.emit("add_contact", contact)
            return contact

    def add_incoming(self, category: str, source_name: str, pipeline_id: Optional[int] = None,
                     name: str = "Входящая заявка", phone: str = "+79990000000",
                     at: Optional[int] = None) -> Unsorted:
        """A new incoming request: contact + lead in the unsorted stage + the unsorted record."""
        with self.lock:
            at = self.now() if at is None else at
            pipeline_id = pipeline_id or next(p.id for p in self.pipelines.values() if p.is_main)
            unsorted_status = next(s.id for s in self.pipelines[pipeline_id].statuses if s.type == 1)
            contact = self.add_contact(name, phone, at=at)
            lead = self.add_lead(name, pipeline_id, unsorted_status, at=at, contact_ids=[contact.id])
            item = Unsorted(uuid.uuid4().hex, category, source_name, pipeline_id, at, lead.id, contact.id,
                            phone)
            self.unsorted[item.uid] = item
            self.touch()
            return item

    # ---- webhook subscriptions ---------------------------------------------------------
    def subscribe(self, destination: str, settings: list, by: int = 0):
        """Subscribe a destination to events (replaces the settings of an existing one)."""
        from .records import Hook
        with self.lock:
            at = self.now()
            for hook in self.hooks.values():
                if hook.destination == destination:
                    hook.settings, hook.updated_at, hook.disabled = list(settings), at, False
                    return hook
            hook = Hook(self.new_id("hooks"), destination, list(settings), at, at, by, len(self.hooks) + 1)
            self.hooks[hook.id] = hook
            return hook

    def unsubscribe(self, destination: str) -> bool:
        """Remove a destination's subscription; False when it was not subscribed."""
        with self.lock:
            for hook_id, hook in list(self.hooks.items()):
                if hook.destination == destination:
                    del self.hooks[hook_id]
                    return True
            return False
