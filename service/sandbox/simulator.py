"""Live simulator: managers and clients acting on the account at a set rate, through world mutations
(so every action records its event and sends its webhooks)."""
from __future__ import annotations

import random
import threading

from .history import INCOMING, first_contact_delay
from .records import LOST, WON

# Share of each action among simulated events.
ACTIONS = (("move", 0.30), ("call", 0.20), ("add_task", 0.15), ("complete_task", 0.15), ("incoming", 0.10),
           ("reassign", 0.05), ("slip", 0.05))


class Simulator:
    """Runs act() rate times per second in a background thread until stop()."""

    def __init__(self, world, rate: float, seed: int = 0):
        self.world, self.rate = world, float(rate)
        self.rng = random.Random(seed)
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.open_ids: list[int] = []
        self.acted = 0
        self.first_calls: dict[int, int] = {}  # new lead -> when its manager first calls (issue 21: some wait)

    def start(self) -> "Simulator":
        """Start acting in the background."""
        self.thread = threading.Thread(target=self.run, name="sandbox-simulator", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self.stopping.set()
        if self.thread:
            self.thread.join(timeout=5)

    def run(self) -> None:
        """Act, then wait 1/rate seconds."""
        while not self.stopping.wait(1.0 / self.rate):
            self.act()

    def act(self) -> str:
        """One random action; returns its name."""
        with self.world.lock:
            if self.acted % 200 == 0 or not self.open_ids:
                self.open_ids = [x.id for x in self.world.leads.values()
                                 if not x.is_deleted and x.status_id not in (WON, LOST)]
            self.acted += 1
            due = [lead_id for lead_id, at in self.first_calls.items() if at <= self.world.now()]
            if due:
                self.first_call(due[0])
                return "first_call"
            roll, acc = self.rng.random(), 0.0
            for name, share in ACTIONS:
                acc += share
                if roll < acc:
                    break
            lead = self.pick_open_lead()
            if lead is None or name == "incoming":
                self.incoming()
                return "incoming"
            getattr(self, name)(lead)
            return name

    def pick_open_lead(self):
        """A random open lead (None when there are none)."""
        for _ in range(5):
            if not self.open_ids:
                return None
            lead = self.world.leads.get(self.rng.choice(self.open_ids))
            if lead and not lead.is_deleted and lead.status_id not in (WON, LOST):
                return lead
        return None

    def move(self, lead) -> None:
        """Advance the lead one stage, win it at the end, or lose it with a reason."""
        statuses = [s.id for s in self.world.pipelines[lead.pipeline_id].statuses if s.id not in (WON, LOST)]
        position = statuses.index(lead.status_id) if lead.status_id in statuses else 0
        lose = self.world.stage_profiles.get(lead.status_id, (0, 0.2))[1]
        by = lead.responsible_user_id
        if self.rng.random() < lose and self.world.loss_reasons:
            self.world.move_lead(lead.id, LOST, loss_reason_id=self.rng.choice(list(self.world.loss_reasons)), by=by)
        elif position + 1 < len(statuses):
            self.world.move_lead(lead.id, statuses[position + 1], by=by)
        else:
            self.world.move_lead(lead.id, WON, by=by)

    def call(self, lead) -> None:
        """Log a call; a fifth are missed."""
        duration = 0 if self.rng.random() < 0.2 else int(self.rng.lognormvariate(4.6, 0.8))
        self.world.log_call(lead.id, "out" if self.rng.random() < 0.7 else "in", duration, by=lead.responsible_user_id)

    def add_task(self, lead) -> None:
        """Plan a follow-up within a few days."""
        till = self.world.now() + int(self.rng.uniform(0.1, 3) * 86400)
        self.world.add_task(lead.id, "Связаться с клиентом", till, by=lead.responsible_user_id)

    def complete_task(self, lead) -> None:
        """Complete one of the lead's open tasks, or plan one when it has none."""
        open_tasks = [t for t in self.world.tasks_by_lead.get(lead.id, ()) if not self.world.tasks[t].is_completed]
        if not open_tasks:
            return self.add_task(lead)
        self.world.complete_task(open_tasks[0], "Сделано", by=lead.responsible_user_id)
        return None

    def incoming(self) -> None:
        """A new incoming request by source."""
        category = self.rng.choices(list(INCOMING), [v[0] for v in INCOMING.values()])[0]
        item = self.world.add_incoming(category, INCOMING[category][1],
                                       phone=f"+79{self.rng.randrange(10 ** 9):09d}")
        self.open_ids.append(item.lead_id)
        delay = first_contact_delay(self.rng, 1.0)  # minutes mostly, an hour or more for some, never for a few
        if delay is not None:
            self.first_calls[item.lead_id] = self.world.now() + delay

    def first_call(self, lead_id: int) -> None:
        """The responsible manager calls a new client back at last: the first contact."""
        del self.first_calls[lead_id]
        lead = self.world.leads.get(lead_id)
        if lead and not lead.is_deleted and lead.status_id not in (WON, LOST):
            self.world.log_call(lead_id, "out", int(self.rng.lognormvariate(4.6, 0.6)),
                                by=lead.responsible_user_id)

    def reassign(self, lead) -> None:
        """Hand the deal to another manager."""
        managers = [u for u in (self.world.profiles or self.world.users) if u != lead.responsible_user_id]
        if managers:
            self.world.set_responsible(lead.id, self.rng.choice(managers), by=self.world.account["current_user_id"])

    def slip(self, lead) -> None:
        """Push the planned close date later."""
        base = lead.close_date or self.world.now()
        self.world.set_close_date(lead.id, base + self.rng.randint(7, 30) * 86400, by=lead.responsible_user_id)
