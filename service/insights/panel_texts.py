"""Russian and English sentences for the supervisor's panel and the manager summaries."""
from __future__ import annotations

from typing import Mapping, Optional

from service.insights.texts import DEALS, DEALS_DAT, DEALS_GEN, amount, both, days_en, days_ru, num, pct, plural_en, plural_ru

REQUESTS_GEN = ("заявки", "заявок", "заявок")


def losses_place(worst, names: Mapping[int, str]) -> dict:
    """The stage that loses the most deals, with count, sum and top reasons."""
    stage, n = names.get(worst.status_id, str(worst.status_id)), worst.count
    reasons_ru = "; ".join(f"{r} — {c}" for r, c in worst.top_reasons)
    tail_ru = f" Основные причины: {reasons_ru}." if reasons_ru else ""
    tail_en = f" Top reasons: {'; '.join(f'{r} — {c}' for r, c in worst.top_reasons)}." if reasons_ru else ""
    return {"code": "most_losses", "status_id": worst.status_id, "text": both(
        f"Больше всего сделок теряется на этапе «{stage}»: {num(n, 'ru')} {plural_ru(n, DEALS)} на сумму "
        f"{amount(worst.amount, 'ru')} за период.{tail_ru}",
        f"Most deals are lost at “{stage}”: {num(n, 'en')} {plural_en(n, 'deal')} worth "
        f"{amount(worst.amount, 'en')} in the period.{tail_en}")}


def hang_place(row: dict) -> dict:
    """The stage where deals hang longest."""
    stage, med, n = row["name"], row["median_days"], row["exits"]
    p80_ru = f", P80 — {days_ru(row['p80_days'])}" if row["p80_days"] is not None else ""
    p80_en = f", P80 {days_en(row['p80_days'])}" if row["p80_days"] is not None else ""
    return {"code": "longest_stage", "status_id": row["status_id"], "text": both(
        f"Дольше всего сделки висят на этапе «{stage}»: медиана {days_ru(med)}{p80_ru} "
        f"(по {num(n, 'ru')} {plural_ru(n, DEALS_DAT)}, покинувшим этап).",
        f"Deals hang longest in “{stage}”: median {days_en(med)}{p80_en} (from {num(n, 'en')} "
        f"{plural_en(n, 'deal')} that left it).")}


SOURCE_NAMES = {"forms": ("Формы", "Forms"), "mail": ("Почта", "Mail"), "chats": ("Чаты", "Chats"),
                "sip": ("Звонки", "Calls"), "other": ("Другое", "Other")}  # as the widget's source_* texts


def source_name(source: str) -> dict:
    """A request source for people: «Формы», not the code «forms» (an unknown code stays as it is)."""
    return both(*SOURCE_NAMES.get(source, (source, source)))


def incoming_place(incoming: dict) -> dict:
    """Incoming requests, how many became deals, and the biggest source."""
    n, k, top = incoming["total"], incoming["became_deals"], incoming["by_source"][0]
    name = source_name(top.source)
    return {"code": "incoming", "source": top.source, "text": both(
        f"Из {num(n, 'ru')} входящих {plural_ru(n, REQUESTS_GEN)} сделками стали {num(k, 'ru')} "
        f"({pct(incoming['rate'], 'ru')}); больше всего заявок из источника «{name['ru']}» — {num(top.incoming, 'ru')}, "
        f"из них стали сделками {num(top.became_deals, 'ru')}.",
        f"Of {num(n, 'en')} incoming {plural_en(n, 'request')}, {num(k, 'en')} became deals "
        f"({pct(incoming['rate'], 'en')}); the biggest source is “{name['en']}” with {num(top.incoming, 'en')}, "
        f"of which {num(top.became_deals, 'en')} became deals.")}


def step_place(step, names: Mapping[int, str]) -> dict:
    """The weakest stage-to-stage step, with its sample: the raw share of the counts printed beside it (the shrunk
    rate only ranks the steps)."""
    a, b, r = names.get(step.from_status, str(step.from_status)), names.get(step.to_status, ""), step.rate
    return {"code": "weakest_step", "status_id": step.from_status, "text": both(
        f"Слабее всего переход «{a}» → «{b}»: {pct(r.raw, 'ru')} ({num(r.successes, 'ru')} из "
        f"{num(r.trials, 'ru')} {plural_ru(r.trials, DEALS_GEN)}).",
        f"The weakest step is “{a}” → “{b}”: {pct(r.raw, 'en')} ({num(r.successes, 'en')} of "
        f"{num(r.trials, 'en')} {plural_en(r.trials, 'deal')}).")}


def team_places(worst, slowest: Optional[dict], incoming: dict, names: Mapping[int, str], weakest) -> list[dict]:
    """The places a supervisor should look first, each with its reason."""
    places = []
    if worst is not None:
        places.append(losses_place(worst, names))
    if slowest is not None:
        places.append(hang_place(slowest))
    if weakest is not None:
        places.append(step_place(weakest, names))
    if incoming["total"]:
        places.append(incoming_place(incoming))
    return places


def plan_text(progress, p_met: Optional[float]) -> dict:
    """Plan vs fact vs the daily pace still needed, and the chance to make it."""
    left, need = progress.remaining_amount or 0, progress.required_daily_amount or 0
    chance_ru = f" Вероятность выполнить план — {pct(p_met, 'ru')}." if p_met is not None else ""
    chance_en = f" Chance to meet the plan: {pct(p_met, 'en')}." if p_met is not None else ""
    return both(
        f"План {amount(progress.plan_amount, 'ru')}, факт {amount(progress.fact_amount, 'ru')}; осталось "
        f"{amount(left, 'ru')} за {days_ru(round(progress.days_left))} — нужно {amount(need, 'ru')} в день "
        f"(сейчас {amount(progress.actual_daily_amount, 'ru')}).{chance_ru}",
        f"Plan {amount(progress.plan_amount, 'en')}, fact {amount(progress.fact_amount, 'en')}; "
        f"{amount(left, 'en')} to go in {days_en(round(progress.days_left))} — {amount(need, 'en')} a day needed "
        f"(now {amount(progress.actual_daily_amount, 'en')}).{chance_en}")


HYGIENE_NAMES = {  # (Russian forms for 1, 2, 5), (English one, many): the count decides the form
    "without_tasks": (("сделка без задач", "сделки без задач", "сделок без задач"),
                      ("deal without tasks", "deals without tasks")),
    "overdue_tasks": (("просроченная задача", "просроченные задачи", "просроченных задач"),
                      ("overdue task", "overdue tasks")),
    "stuck": (("зависшая сделка", "зависшие сделки", "зависших сделок"), ("stuck deal", "stuck deals")),
}


def hygiene_text(key: str, mine: int, team_median: float) -> dict:
    """One hygiene count against the team median."""
    ru, (one, many) = HYGIENE_NAMES[key]
    return both(f"У менеджера {num(mine, 'ru')} {plural_ru(mine, ru)} при медиане команды {num(team_median, 'ru')}.",
                f"The manager has {num(mine, 'en')} {plural_en(mine, one, many)}; the team median is "
                f"{num(team_median, 'en')}.")
