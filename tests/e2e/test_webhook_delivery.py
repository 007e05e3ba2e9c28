"""Sandbox amoCRM → real HTTP → our intake → real RQ worker: the mirror equals the sandbox's own data,
whatever the sender duplicates, reorders or has to retry. Drops cannot be repaired by webhooks alone (sync
reconciles them); with drops we only show that nothing else breaks."""
from __future__ import annotations

import itertools
from urllib.parse import parse_qsl

from service.sandbox.records import EV_A, EV_AT, EV_B, EV_C, EV_D, EV_EID, EV_TYPE, EVENT_CODE, LOST, WON
from tests.e2e.delivery_support import delivery, failing_inbox  # noqa: F401  (fixture)

DAY = 86400


class Script:
    """Changes made in the sandbox the way managers make them, each at its own second (amoCRM's resolution)."""

    def __init__(self, world):
        self.world = world
        self.start = world.now()
        self.clock = itertools.count(self.start)
        self.leads: list[int] = []
        self.tasks: dict[int, list[int]] = {}
        self.notes: dict[int, list[int]] = {}
        self.contacts: list[int] = []
        self.managers = sorted(world.profiles)

    def pick_leads(self, count: int) -> list[int]:
        """Open leads with at least three working stages still ahead of them (drive() advances one lead thrice)."""
        picked = []
        for lead in sorted(self.world.leads.values(), key=lambda x: x.id):
            stages = self.working_stages(lead.pipeline_id)
            if not lead.is_deleted and lead.status_id in stages[:-3]:
                picked.append(lead.id)
        self.leads = picked[:count]
        assert len(self.leads) == count, "the generated account has too few open leads"
        return self.leads

    def working_stages(self, pipeline_id: int) -> list[int]:
        return [s.id for s in self.world.pipelines[pipeline_id].statuses if s.type == 0 and s.id not in (WON, LOST)]

    def tick(self) -> int:
        return next(self.clock)

    def advance(self, lead_id: int) -> None:
        lead = self.world.leads[lead_id]
        stages = self.working_stages(lead.pipeline_id)
        self.world.move_lead(lead_id, stages[stages.index(lead.status_id) + 1], by=lead.responsible_user_id,
                             at=self.tick())

    def hand_over(self, lead_id: int) -> None:
        lead = self.world.leads[lead_id]
        other = next(m for m in self.managers if m != lead.responsible_user_id)
        self.world.set_responsible(lead_id, other, by=self.world.account["current_user_id"], at=self.tick())

    def plan_task(self, lead_id: int) -> None:
        task = self.world.add_task(lead_id, "Перезвонить", self.start + 2 * DAY + len(self.tasks) * 3600,
                                   at=self.tick())
        self.tasks.setdefault(lead_id, []).append(task.id)

    def complete_first_task(self, lead_id: int) -> None:
        self.world.complete_task(self.tasks[lead_id][0], "Готово", at=self.tick())

    def push_close_date(self, lead_id: int) -> None:
        lead = self.world.leads[lead_id]
        self.world.set_close_date(lead_id, (lead.close_date or self.start) + 7 * DAY, by=lead.responsible_user_id,
                                  at=self.tick())

    def call(self, lead_id: int) -> None:
        note = self.world.log_call(lead_id, "out" if lead_id % 2 else "in", 30 + lead_id % 200, at=self.tick())
        self.notes.setdefault(lead_id, []).append(note.id)

    def add_contact(self, lead_id: int) -> None:
        self.contacts.append(self.world.add_contact(f"Клиент {lead_id}", "+79990001122", [lead_id],
                                                    at=self.tick()).id)

    def change_pipeline(self, lead_id: int) -> None:
        lead = self.world.leads[lead_id]
        other = next(p for p in self.world.pipelines if p != lead.pipeline_id)
        self.world.move_lead(lead_id, self.working_stages(other)[1], pipeline_id=other, at=self.tick())

    def close(self, lead_id: int, won: bool) -> None:
        reason = None if won else next(iter(self.world.loss_reasons))
        self.world.move_lead(lead_id, WON if won else LOST, loss_reason_id=reason, at=self.tick())

    def delete(self, lead_id: int) -> None:
        self.world.delete_lead(lead_id, at=self.tick())


ROUNDS = [  # each round touches every lead once, so deliveries of different leads interleave
    Script.advance, Script.plan_task, Script.hand_over, Script.call, Script.push_close_date, Script.advance,
    Script.plan_task, Script.complete_first_task, Script.push_close_date, Script.add_contact,
]


def drive(delivery, leads: int = 8, drain_between_rounds: bool = True) -> Script:
    """Make the changes; drain while deliveries are still arriving so that batches split sequences."""
    script = Script(delivery.world)
    chosen = script.pick_leads(leads)
    for number, step in enumerate(ROUNDS, 1):
        for lead_id in chosen:
            step(script, lead_id)
        if drain_between_rounds and number % 3 == 0:
            delivery.drain()
    script.change_pipeline(chosen[0])
    script.close(chosen[1], won=True)
    script.close(chosen[2], won=False)
    script.advance(chosen[3])
    script.delete(chosen[3])
    delivery.settle()
    return script


# ---- what the sandbox says, and what we hold ---------------------------------------------------------------------
def sandbox_view(world, script: Script, lead_ids) -> dict:
    moves = {lead_id: set() for lead_id in lead_ids}
    for row in world.events:
        if row[EV_TYPE] == EVENT_CODE["lead_status_changed"] and row[EV_AT] >= script.start and row[EV_EID] in moves:
            moves[row[EV_EID]].add((row[EV_AT], row[EV_B], row[EV_A], row[EV_D], row[EV_C]))
    view = {}
    for lead_id in lead_ids:
        lead = world.leads[lead_id]
        tasks = {t: world.tasks[t] for t in script.tasks.get(lead_id, [])}
        notes = [world.notes[n] for n in script.notes.get(lead_id, [])]
        view[lead_id] = {
            "lead": (lead.status_id, lead.pipeline_id, lead.responsible_user_id, lead.price, lead.is_deleted,
                     lead.close_date),
            "tasks": {t.id: (t.entity_id, t.responsible_user_id, t.complete_till, t.is_completed)
                      for t in tasks.values()},
            "history": moves[lead_id],
            "calls": {(n.created_at, n.duration, "in" if n.note_type == "call_in" else "out") for n in notes},
        }
    return view


def mirror_view(deps, account_id: int, lead_ids, close_date_field: int) -> dict:
    leads = deps.store.get_leads(account_id, lead_ids)
    tasks = deps.store.tasks_of(account_id, lead_ids)
    history = deps.store.timelines(account_id, "history", lead_ids)
    calls = deps.store.timelines(account_id, "calls", lead_ids)
    view = {}
    for lead_id in lead_ids:
        lead = leads.get(lead_id)
        view[lead_id] = {
            "lead": lead and (lead.status_id, lead.pipeline_id, lead.responsible_user_id, lead.price, lead.is_deleted,
                              dict(lead.date_fields).get(close_date_field)),
            "tasks": {t.id: (t.lead_id, t.responsible_user_id, t.complete_till, t.is_completed)
                      for t in tasks[lead_id]},
            "history": {(c.at, c.old_pipeline_id, c.old_status_id, c.pipeline_id, c.status_id)
                        for c in history[lead_id]},
            "calls": {(c.at, c.duration, c.direction) for c in calls[lead_id]},
        }
    return view


def assert_mirror_equals_sandbox(delivery, script: Script, lead_ids=None) -> None:
    lead_ids = script.leads if lead_ids is None else lead_ids
    expected = sandbox_view(delivery.world, script, lead_ids)
    actual = mirror_view(delivery.deps, delivery.account.id, lead_ids, delivery.world.close_date_field["id"])
    wrong = [f"lead {lead_id} {part}: {difference(expected[lead_id][part], actual[lead_id][part])}"
             for lead_id in lead_ids for part in expected[lead_id] if expected[lead_id][part] != actual[lead_id][part]]
    assert not wrong, "the mirror differs from the sandbox:\n" + "\n".join(wrong)


def difference(sandbox, ours) -> str:
    if isinstance(sandbox, set) and isinstance(ours, set):
        return f"missing {sorted(sandbox - ours)}, extra {sorted(ours - sandbox)}"
    return f"sandbox {sandbox}, ours {ours}"


def assert_everything_accounted_for(delivery) -> None:
    """Every 2xx delivery was applied or recognised as a duplicate; nothing is dead or left in the inbox."""
    counters = delivery.deps.store.counters(delivery.account.id)
    assert counters.get("dead_lettered", 0) == 0, delivery.deps.store.dead_letters(delivery.account.id)
    assert counters.get("applied", 0) + counters.get("duplicates", 0) == len(delivery.sender.sent())
    assert delivery.deps.store.inbox_length(delivery.account.id) == 0


def close_date_moves(delivery, script: Script) -> tuple[set, set]:
    """(lead, at, old, new) of every planned-date change: the sandbox's events, and the timeline we recorded."""
    field = delivery.world.close_date_field["id"]
    sandbox = {(row[EV_EID], row[EV_AT], row[EV_A] or None, row[EV_B]) for row in delivery.world.events
               if row[EV_TYPE] == EVENT_CODE["custom_field_value_changed"] and row[EV_AT] >= script.start}
    held = delivery.deps.store.timelines(delivery.account.id, "close_dates", script.leads)
    return sandbox, {(c.lead_id, c.at, c.old, c.new) for changes in held.values() for c in changes
                     if c.field_id == field}


def statuses(delivery) -> set:
    return {entry["status"] for entry in delivery.sender.log}


# ---- the specifications ------------------------------------------------------------------------------------------
def test_in_order_delivery_mirrors_the_sandbox(delivery):
    script = drive(delivery)
    assert statuses(delivery) == {204}
    assert_everything_accounted_for(delivery)
    assert_mirror_equals_sandbox(delivery, script)
    sandbox, ours = close_date_moves(delivery, script)
    assert len(sandbox) == 2 * len(script.leads) and ours == sandbox
    contacts = delivery.deps.store.all_records(delivery.account.id, "contacts")
    assert {c: contacts[c]["responsible_user_id"] for c in script.contacts} == \
        {c: delivery.world.contacts[c].responsible_user_id for c in script.contacts}


def test_duplicated_and_reordered_deliveries_leave_the_mirror_equal_to_the_sandbox(delivery):
    delivery.configure(duplicate_rate=0.4, reorder_rate=0.4, reorder_delay=0.25)
    script = drive(delivery)
    bodies = [e["body"] for e in delivery.sender.log]
    assert len(bodies) > len(set(bodies)) and statuses(delivery) == {204}  # some were sent twice
    assert_everything_accounted_for(delivery)
    assert_mirror_equals_sandbox(delivery, script)
    # A hook overtaken by a later one of its lead is not replayed backwards: the later hook (which carries the new
    # date too) records the move at its own time. So every move we hold happened in the sandbox, no later, forward.
    sandbox, ours = close_date_moves(delivery, script)
    made = {(lead, new): at for lead, at, _, new in sandbox}
    assert ours and all(made.get((lead, new), at + 1) <= at and (old is None or old < new)
                        for lead, at, old, new in ours)


def test_deliveries_refused_with_5xx_are_retried_and_then_applied(delivery):
    failed = failing_inbox(delivery.deps, every=3)
    script = drive(delivery)
    log = delivery.sender.log
    assert failed and sum(1 for e in log if e["status"] == 503) == len(failed)
    last_answer = {}
    for entry in log:
        last_answer[entry["body"]] = entry["status"]
    assert set(last_answer.values()) == {204}, "every refused body was retried until it was stored"
    assert_everything_accounted_for(delivery)
    assert_mirror_equals_sandbox(delivery, script)


def test_drops_lose_only_the_dropped_changes(delivery):
    delivery.configure(drop_rate=0.05, duplicate_rate=0.2, reorder_rate=0.2, reorder_delay=0.25)
    script = drive(delivery)
    assert {e["status"] for e in delivery.sender.log} == {204, "dropped"}
    assert_everything_accounted_for(delivery)
    dropped = {lead_of(e["body"]) for e in delivery.sender.log if e["status"] == "dropped"}
    intact = [lead_id for lead_id in script.leads if lead_id not in dropped]
    assert intact, "with this seed some leads must have lost nothing"
    assert_mirror_equals_sandbox(delivery, script, intact)
    mirrored = delivery.deps.store.get_leads(delivery.account.id, script.leads)
    assert all(lead.updated_at <= delivery.world.leads[lead.id].updated_at for lead in mirrored.values())


def lead_of(body: str) -> int:
    """The lead a webhook body is about (tasks and notes: the lead they belong to)."""
    form = dict(parse_qsl(body))
    for key in ("element_id]", "[id]"):
        for name, value in form.items():
            if not name.startswith("account") and name.endswith(key) and "linked" not in name:
                return int(value) if key == "element_id]" or name.startswith("leads") else -1
    return -1
