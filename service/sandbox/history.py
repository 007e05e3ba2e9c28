"""Lead histories for the generator: stage walks, tasks, calls, incoming leads, close-date slips.

Written for speed (the large account has 100k leads and 1.7M events): records are built directly, events are plain
tuples appended to one list and sorted once at the end, and the hot methods read the random stream through bound
methods and the formulas of draws.py (the same numbers random.Random's methods give, one Python call less each).
The order of the draws is the account: tests/sandbox/test_golden.py pins the files it gives.
"""
from __future__ import annotations

import itertools
import random
from bisect import bisect
from math import log

from .draws import lognormal, randbelow, reseed
from .names import surname
from .records import (ENTITY_CODE, EVENT_CODE, LOST, WON, Contact, Lead, Note, Task, Unsorted)

DAY = 86400
# Incoming leads: category -> (share, source name, chance the request is accepted, minutes to react).
INCOMING = {"forms": (0.40, "Форма на сайте", 0.80, 90), "sip": (0.30, "Телефония", 0.90, 20),
            "chats": (0.20, "WhatsApp", 0.75, 45), "mail": (0.10, "Почта sales@", 0.60, 240)}
PRICE = {0: 60_000, 1: 25_000, 2: 600_000}
# (delay limit in seconds, factor on the manager's skill): a fast first answer wins more often (issue 21)
FIRST_CONTACT_EFFECT = ((300, 1.15), (3600, 1.0), (86400, 0.8), (float("inf"), 0.6))
NEVER_CONTACTED_EFFECT = 0.45


def first_contact_delay(rng: random.Random, skill: float):
    """Seconds from a client's arrival to the first outgoing call; None when nobody ever calls.

    Roughly: 40 % within 5 minutes, 30 % within the hour, 15 % the same day, 7 % later, 8 % never (fewer for
    stronger managers)."""
    draw = rng.random()
    if draw < 0.08 / skill:
        return None
    draw = rng.random()
    if draw < 0.43:
        return int(rng.uniform(30, 300))
    if draw < 0.76:
        return int(rng.uniform(300, 3600))
    if draw < 0.92:
        return int(rng.uniform(3600, 8 * 3600))
    return int(rng.uniform(86400, 3 * 86400))


TASK_TEXTS = ["Перезвонить клиенту", "Отправить КП", "Назначить встречу", "Уточнить решение",
              "Выставить счёт", "Проверить оплату"]
LEAD, CONTACT, TASK = ENTITY_CODE["lead"], ENTITY_CODE["contact"], ENTITY_CODE["task"]
(LEAD_ADDED, STATUS_CHANGED, RESPONSIBLE_CHANGED, LEAD_DELETED, TASK_ADDED, TASK_COMPLETED, INCOMING_CALL,
 OUTGOING_CALL, CONTACT_ADDED, CLOSE_DATE_CHANGED) = (EVENT_CODE[name] for name in (
    "lead_added", "lead_status_changed", "entity_responsible_changed", "lead_deleted", "task_added",
    "task_completed", "incoming_call", "outgoing_call", "contact_added", "custom_field_value_changed"))
N_TEXTS = len(TASK_TEXTS)


def cumulative(weights: list[float]) -> list[float]:
    """Running sums normalised to 1, for bisect-based weighted choice."""
    total, acc, out = sum(weights), 0.0, []
    for w in weights:
        acc += w / total
        out.append(acc)
    return out


def call_suffix(lead_id: int) -> str:
    """What follows the note id in a call note's uniq: the same for every call of a lead."""
    return f"-sand-box0-call-{lead_id:012x}"


class HistoryBuilder:
    """Fills a world with leads, contacts, tasks, notes, unsorted and events."""

    def __init__(self, world, rng: random.Random, start: int, now: int):
        self.w, self.rng, self.start, self.now = world, rng, start, now
        self.random, self.bits = rng.random, rng.getrandbits
        self.events: list[tuple] = []
        self.append = self.events.append
        self.seq = itertools.count(1)
        self.next_seq = self.seq.__next__
        self.ids = {k: itertools.count(base) for k, base in (("lead", 20_000_001), ("contact", 40_000_001),
                                                                 ("task", 90_000_001), ("note", 150_000_001))}
        self.next_task, self.next_note = self.ids["task"].__next__, self.ids["note"].__next__
        self.managers = [u for u in world.profiles]
        self.manager_cdf = cumulative([world.profiles[u][1] for u in self.managers])
        self.groups = {uid: world.group_of(uid) for uid in world.users}
        self.pipes = [pid for pid, _ in world.pipeline_weights]
        self.pipe_cdf = cumulative([share for _, share in world.pipeline_weights])
        self.prices = {pid: PRICE[i % 3] for i, pid in enumerate(self.pipes)}
        self.categories = list(INCOMING)
        self.category_cdf = cumulative([INCOMING[c][0] for c in self.categories])
        self.stages = {pid: [s.id for s in p.statuses if s.type == 0 and s.id not in (WON, LOST)]
                       for pid, p in world.pipelines.items()}
        # Per stage, the constants of its draws, computed as the draws' own expressions compute them:
        # (stage, mean days, 1 / mean seconds, stall chance before / skill, loss chance, index).
        self.walks = {pid: [(s, world.stage_profiles[s][0], 1.0 / (world.stage_profiles[s][0] * DAY),
                             0.06 * world.stage_profiles[s][0] ** 0.5, world.stage_profiles[s][1], k)
                            for k, s in enumerate(stages)] for pid, stages in self.stages.items()}
        self.expected = {pid: sum(world.stage_profiles[s][0] for s in stages) * DAY
                         for pid, stages in self.stages.items()}
        self.unsorted_stage = {pid: next(s.id for s in p.statuses if s.type == 1) for pid, p in world.pipelines.items()}
        self.reasons = sorted(world.loss_reasons)
        self.contact_rng = random.Random()

    def ev(self, at, kind, etype, eid, by, a=0, b=0, c=0, d=0) -> None:
        """Append one event tuple."""
        self.append((at, self.next_seq(), kind, etype, eid, by, a, b, c, d))

    def build(self, n_leads: int) -> None:
        """Create n leads spread over the history window, then index everything."""
        rng, span = self.rng, self.now - self.start
        # More recent months carry a bit more volume (a growing business).
        times = sorted(self.start + int(span * (rng.random() ** 0.85)) for _ in range(n_leads))
        for created in times:
            self.make_lead(created)
        self.finish()

    def pick(self, items: list, cdf: list):
        """Weighted choice by bisecting a cumulative distribution."""
        return items[min(bisect(cdf, self.random()), len(items) - 1)]

    def make_lead(self, t0: int) -> None:
        """One lead from first touch to now: incoming or manual, walked through its pipeline."""
        w, random_ = self.w, self.random
        pid, manager = self.pick(self.pipes, self.pipe_cdf), self.pick(self.managers, self.manager_cdf)
        skill = w.profiles[manager][0]
        lead_id, contact_id = next(self.ids["lead"]), next(self.ids["contact"])
        name = CONTACT_NAMES[contact_id % len(LAST_NAMES)][lead_id % len(FIRST_NAMES)]
        phone = f"+79{(lead_id * 7919) % 1_000_000_000:09d}"
        price = int(self.prices[pid] * lognormal(random_, 0, 0.6)) // 100 * 100
        group = self.groups[manager]
        lead = Lead(lead_id, f"Сделка: {name}", price, manager, group, self.stages[pid][0], pid,
                    manager, manager, t0, t0, contact_ids=(contact_id,))
        w.leads[lead_id] = lead
        w.contacts[contact_id] = Contact(contact_id, name, manager, group, manager, t0, t0, phone, [lead_id])
        t = self.start_lead(lead, t0, phone) if random_() < 0.6 else self.manual_start(lead, t0)
        if t is not None:
            self.walk(lead, t, skill * self.first_contact(lead, t0, skill))

    def first_contact(self, lead: Lead, t0: int, skill: float) -> float:
        """The first outgoing call after the client came in (some within minutes, some never); returns how much
        that answer speed helps the deal win. Its own generator: the rest of the history stays as it was."""
        rng = reseed(self.contact_rng, lead.id * 7_919 + self.start)
        delay = first_contact_delay(rng, skill)
        if delay is None:
            return NEVER_CONTACTED_EFFECT
        at = t0 + delay
        if at <= self.now:
            self.outgoing_call(lead, at, int(lognormal(rng.random, 4.6, 0.6)))
        for limit, effect in FIRST_CONTACT_EFFECT:
            if delay <= limit:
                return effect

    def outgoing_call(self, lead: Lead, at: int, duration: int) -> None:
        """An outgoing call by the responsible manager (note and outgoing_call event)."""
        nid, by = self.next_note(), lead.responsible_user_id
        phone = self.w.contacts[lead.contact_ids[0]].phone
        self.w.notes[nid] = Note(nid, lead.id, "call_out", by, at, by, lead.group_id, duration, phone,
                                 f"{nid:08x}{call_suffix(lead.id)}")
        self.append((at, self.next_seq(), OUTGOING_CALL, LEAD, lead.id, by, nid, 0, 0, 0))

    def manual_start(self, lead: Lead, t0: int) -> int:
        """A lead a manager creates by hand in the first working stage."""
        self.ev(t0, LEAD_ADDED, LEAD, lead.id, lead.created_by, lead.id * 10 + 1)
        self.ev(t0, CONTACT_ADDED, CONTACT, lead.contact_ids[0], lead.created_by, lead.contact_ids[0] * 10 + 2)
        return t0

    def start_lead(self, lead: Lead, t0: int, phone: str) -> int | None:
        """An incoming request lands in 'Неразобранное'; a manager accepts it, or it is declined (deleted)."""
        w, random_ = self.w, self.random
        category = self.pick(self.categories, self.category_cdf)
        _, source, accept, minutes = INCOMING[category]
        lead.status_id, lead.created_by, lead.updated_by = self.unsorted_stage[lead.pipeline_id], 0, 0
        lead.source_id = 1000 + self.categories.index(category)
        w.account.setdefault("sources", {})[str(lead.source_id)] = source
        duration = int(-log(1.0 - random_()) / (1 / 90)) if category == "sip" else 0
        uid = f"{lead.id:08x}{self.bits(96):024x}"
        w.unsorted[uid] = Unsorted(uid, category, source, lead.pipeline_id, t0, lead.id, lead.contact_ids[0],
                                   phone, duration)
        self.ev(t0, LEAD_ADDED, LEAD, lead.id, 0, lead.id * 10 + 1)
        self.ev(t0, CONTACT_ADDED, CONTACT, lead.contact_ids[0], 0, lead.contact_ids[0] * 10 + 2)
        react = t0 + int(-log(1.0 - random_()) / (1 / (minutes * 60)))
        if react > self.now:
            return None  # still waiting in unsorted
        by = lead.responsible_user_id
        if random_() > accept:
            lead.is_deleted, lead.updated_at, lead.updated_by = True, react, by
            self.ev(react, LEAD_DELETED, LEAD, lead.id, by)
            return None
        self.move(lead, react, self.stages[lead.pipeline_id][0], by)
        return react

    def move(self, lead: Lead, at: int, status_id: int, by: int, reason: int | None = None) -> None:
        """Change stage and record lead_status_changed."""
        self.append((at, self.next_seq(), STATUS_CHANGED, LEAD, lead.id, by, lead.status_id, lead.pipeline_id,
                     status_id, lead.pipeline_id))
        lead.status_id, lead.updated_at, lead.updated_by = status_id, at, by
        if status_id == WON or status_id == LOST:
            lead.closed_at = at
            lead.loss_reason_id = reason

    def walk(self, lead: Lead, t: int, skill: float) -> None:
        """Walk the stages: dwell, act, then lose, advance or win; stop at now if still open."""
        random_, now, pid = self.random, self.now, lead.pipeline_id
        if random_() < 0.7:  # most deals get a planned close date when work starts
            self.set_close_date(lead, t, (t + int(self.expected[pid])) // DAY * DAY)
        walk, activity, move = self.walks[pid], self.activity, self.move
        last, weaker, reasons = len(walk) - 1, 2.0 - skill, self.reasons
        for status, days, rate, stall, lose, k in walk:
            dwell = int(-log(1.0 - random_()) / rate / skill) + 60
            if random_() < stall / skill:
                dwell *= 6  # the deal stalls here: where deals hang for weeks
            end = t + dwell
            if random_() < 0.05:
                self.reassign(lead, t + dwell // 2)
            if end > now:
                activity(lead, t, now, True, skill)
                lead.updated_at = max(lead.updated_at, t)
                return
            activity(lead, t, end, False, skill)
            if days >= 14 and lead.close_date and random_() < 0.5:  # the planned close date slips
                self.set_close_date(lead, t + dwell // 3, lead.close_date + (7 + randbelow(self.bits, 24)) * DAY)
            if random_() < min(0.9, lose * weaker):
                reason = reasons[min(int(random_() ** (1 + k) * len(reasons)), len(reasons) - 1)]
                move(lead, end, LOST, lead.responsible_user_id, reason)
                return
            nxt = walk[k + 1][0] if k < last else WON
            move(lead, end, nxt, lead.responsible_user_id)
            if nxt == WON:
                return
            t = end

    def set_close_date(self, lead: Lead, at: int, value: int) -> None:
        """Set the date field and record custom_field_{ID}_value_changed."""
        self.append((at, self.next_seq(), CLOSE_DATE_CHANGED, LEAD, lead.id, lead.responsible_user_id,
                     lead.close_date or 0, value, 0, 0))
        lead.close_date, lead.updated_at = value, max(lead.updated_at, at)

    def reassign(self, lead: Lead, at: int) -> None:
        """Hand the deal to another manager."""
        new = self.pick(self.managers, self.manager_cdf)
        if new == lead.responsible_user_id or at > self.now:
            return
        self.ev(at, RESPONSIBLE_CHANGED, LEAD, lead.id, self.w.account["current_user_id"],
                lead.responsible_user_id, new)
        lead.responsible_user_id, lead.group_id = new, self.groups[new]

    def activity(self, lead: Lead, t: int, end: int, still_open: bool, skill: float) -> None:
        """Tasks and calls while the lead sits in a stage (a follow-up task every ~10 days)."""
        random_, task = self.random, self.task
        for i in range(1 + min(2, (end - t) // (10 * DAY))):
            start = t + i * 10 * DAY + int(random_() * 3600)
            if start <= end and random_() < 0.75:
                task(lead, start, end, False, skill)
        if still_open and random_() > 0.2 / skill:  # the rest are open deals without any task
            task(lead, max(t, self.now - int((0 + (5 - 0) * random_()) * DAY)), end, True, skill)
        calls = randbelow(self.bits, 2) + (1 if end - t > 5 * DAY else 0)
        if calls:
            self.calls(lead, t, end, calls)

    def task(self, lead: Lead, created: int, stage_end: int, keep_open: bool, skill: float) -> None:
        """A task; completed before the stage ends unless it is the open deal's current task."""
        random_, now = self.random, self.now
        till = created + int((0.3 + (3 - 0.3) * random_()) * DAY)
        if keep_open:
            overdue = random_() < 0.3 / skill
            if overdue:
                till = now - int((0.1 + (5 - 0.1) * random_()) * DAY)
            else:
                till = now + int((0.1 + (5 - 0.1) * random_()) * DAY)
            till = max(till, created + 600)
        tid, by, lead_id = self.next_task(), lead.responsible_user_id, lead.id
        task = Task(tid, lead_id, by, lead.group_id, 1 if random_() < 0.8 else 2, TASK_TEXTS[tid % N_TEXTS],
                    till, by, by, created, created)
        w = self.w
        w.tasks[tid] = task
        listed = w.tasks_by_lead.get(lead_id)
        if listed is None:
            w.tasks_by_lead[lead_id] = [tid]
        else:
            listed.append(tid)
        self.append((created, self.next_seq(), TASK_ADDED, TASK, tid, by, 0, 0, 0, 0))
        if not keep_open:
            done = min(stage_end, till + int(-log(1.0 - random_()) / (skill / (0.5 * DAY))))
            if done <= now:
                task.is_completed, task.updated_at = True, max(done, created)
                self.append((task.updated_at, self.next_seq(), TASK_COMPLETED, TASK, tid, by, 0, 0, 0, 0))
                return
        # still open at the end: World.refresh_closest_task's minimum, kept as it goes (no pass over every lead)
        if lead.closest_task_at is None or till < lead.closest_task_at:
            lead.closest_task_at = till

    def calls(self, lead: Lead, t: int, end: int, count: int) -> None:
        """Call notes with their incoming_/outgoing_call events; a fifth of calls are missed (0 s)."""
        random_, notes, append, next_seq = self.random, self.w.notes, self.append, self.next_seq
        lead_id, by, group = lead.id, lead.responsible_user_id, lead.group_id
        phone, span = self.w.contacts[lead.contact_ids[0]].phone, max(60, end - t)
        suffix = call_suffix(lead_id)  # apart: one f-string with two padded fields cost a microsecond a note
        for _ in range(count):
            at = t + int(random_() * span)
            outgoing = random_() < 0.7
            duration = 0 if random_() < 0.2 else int(lognormal(random_, 4.6, 0.8))
            nid = self.next_note()
            notes[nid] = Note(nid, lead_id, "call_out" if outgoing else "call_in", by, at, by, group,
                              duration, phone, f"{nid:08x}{suffix}")
            append((at, next_seq(), OUTGOING_CALL if outgoing else INCOMING_CALL, LEAD, lead_id, by, nid, 0, 0, 0))

    def finish(self) -> None:
        """Sort the log and move id counters past what exists."""
        w = self.w
        # Rows were appended in seq order, so a stable sort on created_at alone gives the tuple order, 3x faster;
        # as seconds since the start the keys fit one 30-bit digit, which list.sort compares a third faster still.
        start = self.start
        self.events.sort(key=lambda row: row[0] - start)
        w.events = self.events
        for kind, counter in (("leads", "lead"), ("contacts", "contact"), ("tasks", "task"), ("notes", "note")):
            w.next_ids[kind] = next(self.ids[counter])
        w.next_ids["events"] = next(self.seq)
        w.touch()


FIRST_NAMES = ["Анна", "Иван", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена", "Алексей", "Наталья", "Павел"]
LAST_NAMES = ["Орлов", "Зайцев", "Белов", "Громов", "Титов", "Киселёв", "Марков", "Никитин", "Соболев"]
CONTACT_NAMES = [[f"{surname(last, first)} {first}" for first in FIRST_NAMES] for last in LAST_NAMES]  # [last][first]
