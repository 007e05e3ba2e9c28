"""Russian and English sentences for every insight, generated from its structured evidence."""
from __future__ import annotations

from functools import lru_cache

NBSP = "\u00a0"

DAYS = ("день", "дня", "дней")
HOURS = ("час", "часа", "часов")
DEALS = ("сделка", "сделки", "сделок")
EXITS_DAT = ("выходу", "выходам", "выходам")
EXITS = ("выход", "выхода", "выходов")
DEALS_DAT = ("сделке", "сделкам", "сделкам")
TIMES = ("раз", "раза", "раз")
DEALS_GEN = ("сделки", "сделок", "сделок")


def plural_ru(n: float, forms: tuple[str, str, str]) -> str:
    """Pick the Russian form for n: (1 день, 2 дня, 5 дней); fractions take the 'few' form (1,5 дня)."""
    if n != int(n):
        return forms[1]
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def plural_en(n: float, word: str, many: str = "") -> str:
    """English singular/plural."""
    return word if n == 1 else (many or word + "s")


@lru_cache(maxsize=4096)  # a full recompute formats ~20 numbers per open deal, mostly the same few hundred
def num(x: float, lang: str) -> str:
    """A number for people: thousands separated (94 000 / 94,000); one decimal below 10 when fractional."""
    x = round(float(x), 1)
    if abs(x) >= 10 or x == int(x):
        text = f"{int(round(x)):,}"
        return text.replace(",", NBSP) if lang == "ru" else text
    text = f"{x:.1f}"
    return text.replace(".", ",") if lang == "ru" else text


def amount(x: float, lang: str) -> str:
    """A money amount, whole units with thousands separators."""
    return num(round(x), lang)


def pct(share: float, lang: str) -> str:
    """A share 0..1 as a whole percentage."""
    return f"{num(round(share * 100), lang)}%"


def days_ru(x: float) -> str:
    return f"{num(x, 'ru')} {plural_ru(round(x, 1), DAYS)}"


def days_en(x: float) -> str:
    return f"{num(x, 'en')} {plural_en(round(x, 1), 'day')}"


def duration_ru(hours: float) -> str:
    """Hours below two days, days above."""
    if hours < 48:
        h = round(hours)
        return f"{num(h, 'ru')} {plural_ru(h, HOURS)}"
    return days_ru(round(hours / 24))


def duration_en(hours: float) -> str:
    if hours < 48:
        h = round(hours)
        return f"{num(h, 'en')} {plural_en(h, 'hour')}"
    return days_en(round(hours / 24))


def both(ru: str, en: str) -> dict:
    return {"ru": ru, "en": en}


def source_text(ev: dict, percentile: str) -> dict:
    """Where a stage time limit comes from, with its sample size."""
    code, w = ev["source_code"], ev["window_days"]
    k, n = ev["stage_exits"], ev["pipeline_exits"]
    if code == "manual":
        return both("ручная настройка руководителя", "manual setting")
    if code == "stage":
        return both(f"{percentile} по {num(k, 'ru')} {plural_ru(k, EXITS_DAT)} из этапа за {days_ru(w)}",
                    f"{percentile} of {num(k, 'en')} {plural_en(k, 'exit')} in the last {days_en(w)}")
    only_ru = f"у этапа всего {num(k, 'ru')} {plural_ru(k, ('выход', 'выхода', 'выходов'))}"
    only_en = f"this stage has only {num(k, 'en')} {plural_en(k, 'exit')}"
    if k == 0:
        only_ru, only_en = "истории этапа пока нет", "no history for this stage yet"
    if k >= ev.get("min_exits", 20):  # enough exits, but most deals are still in the stage (censored)
        only_ru = f"слишком много сделок ещё на этапе, чтобы измерить его ({num(k, 'ru')} {plural_ru(k, EXITS)})"
        only_en = f"too many deals are still in this stage to measure it ({num(k, 'en')} {plural_en(k, 'exit')})"
    if code == "pipeline":
        return both(f"{percentile} по {num(n, 'ru')} {plural_ru(n, EXITS_DAT)} по всей воронке за {days_ru(w)}, "
                    f"{only_ru}",
                    f"{percentile} of {num(n, 'en')} {plural_en(n, 'exit')} across the pipeline in the last "
                    f"{days_en(w)}; {only_en}")
    return both(f"значение по умолчанию, {only_ru}", f"default; {only_en}")


def stuck_in_stage(ev: dict) -> dict:
    share = "95%" if ev["percentile"] == "P95" else "80%"
    src = source_text(ev, ev["percentile"])
    days, limit = ev["days_in_stage"], ev["limit_days"]
    where_ru = f"на этапе «{ev['stage_name']}»" if ev["stage_name"] else "на текущем этапе"
    where_en = f"in “{ev['stage_name']}”" if ev["stage_name"] else "in its current stage"
    if ev["source_code"] in ("stage", "pipeline"):  # a measured percentile: say whose deals it measures
        whose_ru, whose_en = (("этого этапа", "at this stage") if ev["source_code"] == "stage"
                              else ("на этапах этой воронки", "across this pipeline's stages"))
        return both(f"Сделка {where_ru} уже {days_ru(days)} — дольше, чем {share} сделок {whose_ru} "
                    f"(порог {days_ru(limit)}: {src['ru']}).",
                    f"The deal has been {where_en} for {days_en(days)} — longer than {share} of deals {whose_en} "
                    f"(limit {days_en(limit)}: {src['en']}).")
    return both(f"Сделка {where_ru} уже {days_ru(days)} при пороге {days_ru(limit)} ({src['ru']}).",
                f"The deal has been {where_en} for {days_en(days)}, past the {days_en(limit)} limit ({src['en']}).")


def no_open_task(ev: dict) -> dict:
    return both("У открытой сделки нет ни одной открытой задачи — следующий шаг не запланирован.",
                "This open deal has no open task — the next step is not planned.")


def overdue_task(ev: dict) -> dict:
    n, hours = ev["overdue_tasks"], ev["hours_overdue"]
    more_ru = f" Всего просрочено задач: {n}." if n > 1 else ""
    more_en = f" {n} tasks are overdue in total." if n > 1 else ""
    return both(f"Задача «{ev['task_text']}» просрочена на {duration_ru(hours)}.{more_ru}",
                f"Task “{ev['task_text']}” is {duration_en(hours)} overdue.{more_en}")


def no_activity(ev: dict) -> dict:
    days, limit = ev["days_quiet"], ev["limit_days"]
    return both(f"По сделке {days_ru(days)} нет движения: ни смены этапа, ни выполненной задачи, ни звонка, "
                f"ни примечания (порог {days_ru(limit)}).",
                f"Nothing has happened on this deal for {days_en(days)}: no stage move, completed task, call or "
                f"note (limit {days_en(limit)}).")


def close_date_passed(ev: dict) -> dict:
    days = ev["days_past"]
    return both(f"Планируемая дата закрытия прошла {days_ru(days)} назад, а сделка всё ещё открыта.",
                f"The planned close date passed {days_en(days)} ago and the deal is still open.")


def close_date_pushed(ev: dict) -> dict:
    n, days = ev["pushes"], ev["days_pushed"]
    return both(f"Дату закрытия переносили {num(n, 'ru')} {plural_ru(n, TIMES)}, в сумме на {days_ru(days)} позже "
                f"первоначальной.",
                f"The close date has been pushed {num(n, 'en')} {plural_en(n, 'time')}, {days_en(days)} later "
                f"than first planned in total.")


def win_chance(ev: dict) -> dict:
    p, w, t = ev["win_share"], ev["wins"], ev["trials"]
    sp, st = ev["stage_win_share"], ev["stage_trials"]
    age, stage = ev["age_days"], ev["stage_name"]
    return both(
        f"Шанс выиграть сделку — {pct(p, 'ru')}: из {num(t, 'ru')} {plural_ru(t, DEALS_GEN)}, пробывших на этапе "
        f"«{stage}» не меньше {days_ru(ev['bucket_days'])}, выиграно {num(w, 'ru')} (оценка сглажена к среднему "
        f"этапа {pct(sp, 'ru')} по {num(st, 'ru')} {plural_ru(st, DEALS_DAT)}); сделка на этапе {days_ru(age)}.",
        f"Chance to win: {pct(p, 'en')}. Of {num(t, 'en')} {plural_en(t, 'deal')} that spent at least "
        f"{days_en(ev['bucket_days'])} in “{stage}”, {num(w, 'en')} were won (shrunk toward the stage's "
        f"{pct(sp, 'en')} from {num(st, 'en')} {plural_en(st, 'deal')}); this deal has been there {days_en(age)}.")


def plan_impact(ev: dict) -> dict:
    share, price, left = ev["share"], ev["price"], ev["remaining_plan"]
    return both(f"Сделка на {amount(price, 'ru')} закрывает {pct(share, 'ru')} оставшегося плана менеджера "
                f"({amount(left, 'ru')} до конца месяца).",
                f"This deal of {amount(price, 'en')} would cover {pct(share, 'en')} of the manager's remaining plan "
                f"({amount(left, 'en')} to go this month).")


HINT_TEXTS = {f.__name__: f for f in (stuck_in_stage, no_open_task, overdue_task, no_activity,
                                      close_date_passed, close_date_pushed, win_chance, plan_impact)}

ACTIONS = {
    "stuck_in_stage": both("Свяжитесь с клиентом и решите: двигать сделку дальше или закрыть её.",
                           "Contact the client and decide: move the deal forward or close it."),
    "no_open_task": both("Поставьте задачу с датой следующего шага.", "Set a task with the date of the next step."),
    "overdue_task": both("Выполните задачу или перенесите её на реальную дату.",
                         "Complete the task or move it to a realistic date."),
    "no_activity": both("Позвоните или напишите клиенту сегодня.", "Call or message the client today."),
    "close_date_passed": both("Обновите дату закрытия или закройте сделку.",
                              "Update the close date or close the deal."),
    "close_date_pushed": both("Выясните, что мешает закрытию, прежде чем снова переносить дату.",
                              "Find out what blocks the close before pushing the date again."),
    "win_chance": both("Сосредоточьтесь на шаге, который продвинет сделку к следующему этапу.",
                       "Focus on the step that moves the deal to the next stage."),
    "plan_impact": both("Держите сделку в приоритете: от неё зависит план.",
                        "Keep this deal a priority: the plan depends on it."),
}
LOW_WIN_ACTION = both("Проверьте, жива ли сделка: шанс ниже обычного для этого этапа.",
                      "Check whether the deal is still alive: its chance is below this stage's usual.")


def hint_text(code: str, evidence: dict) -> dict:
    """The {ru, en} sentence of a deal hint."""
    return HINT_TEXTS[code](evidence)


def action_text(code: str, severity: str = "info") -> dict:
    """What to do about a deal hint, in both languages."""
    if code == "win_chance" and severity != "info":
        return LOW_WIN_ACTION
    return ACTIONS[code]
