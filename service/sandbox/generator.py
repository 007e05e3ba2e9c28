"""Seeded, deterministic account generator: structure here, lead histories in history.py."""
from __future__ import annotations

import datetime as dt
import random
import time

from .accountfile import gc_paused
from .history import HistoryBuilder
from .names import surname
from .records import LOST, WON, LossReason, Pipeline, Status, User
from .world import World

SIZES = {"small": (5, 500), "medium": (15, 20_000), "large": (50, 100_000)}
DAY = 86400

# Stage templates: (name, mean days in stage, chance to lose there). "Принимают решение" is where deals hang.
PIPELINES = [
    ("Продажи", 0.70, [("Первичный контакт", 0.6, 0.10), ("Квалификация", 3, 0.25),
                       ("Встреча назначена", 5, 0.10), ("Принимают решение", 21, 0.35),
                       ("Согласование договора", 7, 0.08), ("Счёт выставлен", 4, 0.05)]),
    ("Повторные продажи", 0.20, [("Новый запрос", 0.5, 0.05), ("Подбор решения", 4, 0.15),
                                 ("КП отправлено", 6, 0.20), ("Принимают решение", 14, 0.25),
                                 ("Оплата", 3, 0.03)]),
    ("Тендеры", 0.10, [("Сбор документов", 8, 0.10), ("Подача заявки", 10, 0.15), ("Рассмотрение", 30, 0.30),
                       ("Принимают решение", 21, 0.30), ("Подписание", 7, 0.05), ("Исполнение", 14, 0.02),
                       ("Закрывающие документы", 5, 0.01)]),
]
LOSS_REASONS = ["Дорого", "Выбрали конкурента", "Пропала потребность", "Не выходит на связь",
                "Не целевой клиент", "Нет бюджета"]
FIRST = ["Анна", "Иван", "Мария", "Сергей", "Ольга", "Дмитрий", "Елена", "Алексей", "Наталья", "Павел",
         "Татьяна", "Михаил", "Юлия", "Андрей", "Ксения", "Никита", "Светлана", "Артём", "Ирина", "Егор"]
LAST = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
        "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов"]
COLORS = ["#99ccff", "#ffff99", "#ffcc66", "#ffcccc", "#ccc8f9", "#87f2c0", "#f9deff", "#deff81"]


def default_now() -> int:
    """Today's midnight UTC: the history ends here unless the caller says otherwise."""
    today = dt.datetime.now(dt.timezone.utc).date()
    return int(dt.datetime(today.year, today.month, today.day, tzinfo=dt.timezone.utc).timestamp())


def generate(size: str = "small", seed: int = 1, now: int | None = None, months: int = 13,
             leads: int | None = None, managers: int | None = None) -> World:
    """A whole account: same (size, seed, now) gives the same account."""
    n_managers, n_leads = SIZES[size]
    n_managers, n_leads = managers or n_managers, leads or n_leads
    now = default_now() if now is None else int(now)
    rng = random.Random(seed)
    world = World(make_account(seed), clock=time.time)
    start = now - months * 30 * DAY
    add_users(world, rng, n_managers, start)
    add_pipelines(world, 2 if n_leads <= 1000 else 3, start)
    add_loss_reasons(world, start)
    world.close_date_field = {"id": 700_001, "name": "Планируемая дата закрытия"}
    with gc_paused():  # records are acyclic; collections while building them only cost time
        HistoryBuilder(world, rng, start, now).build(n_leads)
    return world


def make_account(seed: int) -> dict:
    """The account's own fields (API names)."""
    return {"id": 31_000_000 + seed % 1_000_000, "name": "Sandbox Trading", "subdomain": "sandbox",
            "current_user_id": 7_000_001, "country": "RU", "currency": "RUB", "timezone": "Europe/Moscow",
            "is_api_filter_enabled": True, "customers_mode": "disabled", "is_unsorted_on": True,
            "is_loss_reason_enabled": True, "amojo_id": f"5b1c0000-0000-4000-8000-{seed:012d}",
            "uuid": f"a0c10000-0000-4000-8000-{seed:012d}", "version": 16, "phone_field_id": 700_010,
            "sources": {}}


def add_users(world: World, rng: random.Random, n_managers: int, start: int) -> None:
    """An admin head of sales plus managers of different skill and load, split into groups."""
    n_groups = 1 if n_managers <= 5 else min(4, 1 + n_managers // 8)
    world.groups = [(0, "Отдел продаж")] + [(500_000 + i, f"Группа {i}") for i in range(1, n_groups)]
    world.task_types = [(1, "Связаться", "FOLLOW_UP"), (2, "Встреча", "MEETING")]
    world.users[7_000_001] = User(7_000_001, "Руководитель Продаж", "head@sandbox.example", is_admin=True)
    world.profiles = {}
    for i in range(n_managers):
        uid = 7_000_002 + i
        first = FIRST[i % len(FIRST)]
        name = f"{first} {surname(LAST[(i * 7) % len(LAST)], first)}"
        group = world.groups[i % len(world.groups)][0]
        view = "A" if i % 5 == 0 else ("G" if i % 5 in (1, 2) else "M")
        world.users[uid] = User(uid, name, f"manager{i + 1}@sandbox.example", group_id=group or None,
                                leads_view=view, role_id=3141)
        # skill scales win chances and speed; load is the share of new deals a manager gets.
        world.profiles[uid] = (rng.uniform(0.6, 1.4), rng.lognormvariate(0, 0.5))
    world.next_ids["users"] = 7_000_002 + n_managers


def add_pipelines(world: World, count: int, start: int) -> None:
    """2–3 pipelines, each: unsorted stage, 5–8 working stages, then 142 and 143."""
    status_id = 60_000_000
    world.stage_profiles = {}
    for index, (name, weight, stages) in enumerate(PIPELINES[:count]):
        pid = 8_000_000 + index + 1
        pipe = Pipeline(pid, name, index + 1, index == 0)
        pipe.statuses.append(Status(status_id, "Неразобранное", 10, pid, "#c1c1c1", 1, False))
        status_id += 1
        for k, (stage, days, lose) in enumerate(stages):
            pipe.statuses.append(Status(status_id, stage, 20 + k * 10, pid, COLORS[k % len(COLORS)]))
            world.stage_profiles[status_id] = (days, lose)
            status_id += 1
        pipe.statuses.append(Status(WON, "Успешно реализовано", 10000, pid, "#CCFF66", 0, False))
        pipe.statuses.append(Status(LOST, "Закрыто и не реализовано", 11000, pid, "#D5D8DB", 0, False))
        world.pipelines[pid] = pipe
    world.pipeline_weights = [(pid, PIPELINES[i][1]) for i, pid in enumerate(world.pipelines)]


def add_loss_reasons(world: World, start: int) -> None:
    """The account's loss reasons."""
    for i, name in enumerate(LOSS_REASONS):
        rid = 9_000_001 + i
        world.loss_reasons[rid] = LossReason(rid, name, (i + 1) * 100, start, start)
