"""Russian and English sentences for every insight, generated from its structured evidence."""
from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

NBSP = "\u00a0"

DAYS = ("день", "дня", "дней")
HOURS = ("час", "часа", "часов")
DEALS = ("сделка", "сделки", "сделок")
EXITS_DAT = ("выходу", "выходам", "выходам")
EXITS = ("выход", "выхода", "выходов")
DEALS_DAT = ("сделке", "сделкам", "сделкам")
TIMES = ("раз", "раза", "раз")
DEALS_GEN = ("сделки", "сделок", "сделок")
MONTHS_GEN_RU = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
                 "ноября", "декабря")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def half_up(x: float) -> int:
    """Round half away from zero, as people (and JavaScript's toFixed) do: 12.5 -> 13, not Python's 12."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def shown(x: float) -> float:
    """The number exactly as `num` prints it: one decimal below 10 when fractional, whole otherwise."""
    tenth = half_up(float(x) * 10) / 10
    if abs(tenth) >= 10 or tenth == int(tenth):
        return float(half_up(x))
    return tenth


def plural_ru(n: float, forms: tuple[str, str, str]) -> str:
    """The Russian form for n as displayed (1 день, 2 дня, 5 дней, 21 день); a fraction takes the genitive
    singular (1,5 дня)."""
    n = shown(n)
    if n != int(n):
        return forms[1]
    n = abs(int(n))
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return forms[1]
    return forms[2]


def plural_en(n: float, word: str, many: str = "") -> str:
    """English singular only for exactly 1 as displayed (1 day, 1.5 days, 0 days)."""
    return word if shown(n) == 1 else (many or word + "s")


@lru_cache(maxsize=4096)  # a full recompute formats ~20 numbers per open deal, mostly the same few hundred
def num(x: float, lang: str) -> str:
    """A number for people: thousands separated (94 000 / 94,000); one decimal below 10 when fractional."""
    x = shown(x)
    if x == int(x):
        text = f"{int(x):,}"
        return text.replace(",", NBSP) if lang == "ru" else text
    text = f"{x:.1f}"
    return text.replace(".", ",") if lang == "ru" else text


def count_ru(n: float, forms: tuple[str, str, str]) -> str:
    """«5 дней»: the number as displayed and the form it takes."""
    return f"{num(n, 'ru')} {plural_ru(n, forms)}"


def count_en(n: float, word: str, many: str = "") -> str:
    """"5 days": the number as displayed and the form it takes."""
    return f"{num(n, 'en')} {plural_en(n, word, many)}"


def amount(x: float, lang: str) -> str:
    """A money amount, whole units with thousands separators."""
    return num(half_up(x), lang)


def pct(share: float, lang: str) -> str:
    """A share 0..1 as a whole percentage."""
    return f"{num(half_up(share * 100), lang)}%"


def days_ru(x: float) -> str:
    return count_ru(x, DAYS)


def days_en(x: float) -> str:
    return count_en(x, "day")


def overdue_ru(hours: float) -> str:
    """«на 5 часов» / «на 2 дня» after «просрочена»: hours below two days, days above, the unit chosen on the hours as
    shown (47.6 is 48: 2 days); under half an hour, «менее чем на час», never «на 0 часов»."""
    shown_hours = half_up(hours)
    if shown_hours < 1:
        return "менее чем на час"
    if shown_hours < 48:
        return f"на {count_ru(shown_hours, HOURS)}"
    return f"на {days_ru(half_up(hours / 24))}"


def overdue_en(hours: float) -> str:
    """"5 hours" / "2 days" / "less than an hour" before "overdue", chosen as in Russian."""
    shown_hours = half_up(hours)
    if shown_hours < 1:
        return "less than an hour"
    if shown_hours < 48:
        return count_en(shown_hours, "hour")
    return days_en(half_up(hours / 24))


def both(ru: str, en: str) -> dict:
    return {"ru": ru, "en": en}


def moment(ts: int, timezone: str) -> dict:
    """A due moment in the account's timezone: «5 декабря в 14:00» / "Dec 5, 14:00"."""
    local = datetime.fromtimestamp(ts, ZoneInfo(timezone or "UTC"))
    clock = f"{local.hour:02d}:{local.minute:02d}"
    return both(f"{local.day} {MONTHS_GEN_RU[local.month - 1]} в {clock}",
                f"{MONTHS_EN[local.month - 1]} {local.day}, {clock}")


def window_phrase(days: float) -> dict:
    """A look-back window in words people use: «за полгода» / "in the last six months"."""
    named = {1: ("за последние сутки", "in the last day"), 30: ("за месяц", "in the last month"), 90: ("за квартал", "in the last quarter"),
             180: ("за полгода", "in the last six months"), 365: ("за год", "in the last year")}
    if half_up(days) in named:
        return both(*named[half_up(days)])
    return both(f"за последние {days_ru(days)}", f"in the last {days_en(days)}")


def _where(ev: dict) -> dict:
    name = ev.get("stage_name")
    return both(f"на этапе «{name}»" if name else "на текущем этапе", f"in “{name}”" if name else "in its stage")


def _stage_sample(ev: dict) -> dict:
    """Why the stage's own history was not enough, in a few plain words."""
    k = ev.get("stage_exits", 0)
    if k == 0:
        return both("этот этап ещё не покинула ни одна сделка", "no deal has left this stage yet")
    if k >= ev.get("min_exits", 20):  # enough exits, yet most deals are still there (censored)
        return both("большинство сделок этого этапа ещё не покинули его", "most deals here have not left it yet")
    verb = "покинула" if plural_ru(k, DEALS) == DEALS[0] else "покинули"  # the verb agrees: 1 сделка покинула
    return both(f"этот этап {verb} всего {count_ru(k, DEALS)}",
                f"only {count_en(k, 'deal')} {'has' if shown(k) == 1 else 'have'} left this stage")


def stuck_reason(ev: dict) -> dict:
    """What the deal's time in stage was compared with, as the second half of one sentence."""
    code, limit = ev["source_code"], ev["limit_days"]
    share = "95" if ev["percentile"] == "P95" else "80"
    window = window_phrase(ev.get("window_days", 180))
    if code == "stage":
        return both(f"дольше, чем {share} из 100 сделок, прошедших этот этап {window['ru']}",
                    f"longer than {share} of 100 deals that went through this stage {window['en']}")
    if code == "stage_current":
        return both(f"дольше, чем {share} из 100 сделок, которые сейчас на этом этапе",
                    f"longer than {share} of 100 deals now in this stage")
    if code == "pipeline":
        why = _stage_sample(ev)
        return both(f"дольше, чем {share} из 100 сделок на любом этапе этой воронки {window['ru']} ({why['ru']})",
                    f"longer than {share} of 100 deals in any stage of this pipeline {window['en']} ({why['en']})")
    if code == "manual":
        return both(f"больше порога в {days_ru(limit)}, заданного руководителем",
                    f"past the limit of {days_en(limit)} your supervisor set")
    why = _stage_sample(ev)
    return both(f"больше порога по умолчанию в {days_ru(limit)} ({why['ru']})",
                f"past the default limit of {days_en(limit)} ({why['en']})")


def stuck_in_stage(ev: dict) -> dict:
    where, reason = _where(ev), stuck_reason(ev)
    days = ev["days_in_stage"]
    return both(f"Сделка {days_ru(days)} {where['ru']} — {reason['ru']}.",
                f"The deal has been {where['en']} for {days_en(days)} — {reason['en']}.")


def no_open_task(ev: dict) -> dict:
    return both("У открытой сделки нет ни одной открытой задачи — следующий шаг не запланирован.",
                "This open deal has no open task — the next step is not planned.")


def overdue_task(ev: dict) -> dict:
    n, hours = ev["overdue_tasks"], ev["hours_overdue"]
    due = moment(ev["complete_till"], ev.get("timezone", "UTC")) if ev.get("complete_till") else None
    due_ru = f" (срок был {due['ru']})" if due else ""
    due_en = f" (due {due['en']})" if due else ""
    more_ru = f" Всего просрочено задач: {num(n, 'ru')}." if n > 1 else ""
    more_en = f" {count_en(n, 'task')} are overdue in total." if n > 1 else ""
    return both(f"Задача «{ev['task_text']}» просрочена {overdue_ru(hours)}{due_ru}.{more_ru}",
                f"Task “{ev['task_text']}” is {overdue_en(hours)} overdue{due_en}.{more_en}")


def no_activity(ev: dict) -> dict:
    days, limit = ev["days_quiet"], ev["limit_days"]
    return both(f"По сделке {days_ru(days)} ничего не происходит: ни смены этапа, ни выполненной задачи, ни звонка, "
                f"ни примечания, а допустимо не больше {days_ru(limit)}.",
                f"Nothing has happened on this deal for {days_en(days)} — no stage move, completed task, call or "
                f"note — against a limit of {days_en(limit)}.")


def close_date_passed(ev: dict) -> dict:
    days = ev["days_past"]
    return both(f"Планируемая дата закрытия прошла {days_ru(days)} назад, а сделка всё ещё открыта.",
                f"The planned close date passed {days_en(days)} ago and the deal is still open.")


def close_date_pushed(ev: dict) -> dict:
    n, days = ev["pushes"], ev["days_pushed"]
    times_en = "once" if shown(n) == 1 else count_en(n, "time")
    return both(f"Дату закрытия переносили {count_ru(n, TIMES)}, в сумме на {days_ru(days)} позже "
                f"первоначальной.",
                f"The close date has been pushed {times_en}, {days_en(days)} later "
                f"than first planned in total.")


def win_chance(ev: dict) -> dict:
    """Raw shares beside the counts they come from: the shrunk estimate ranks, it is not printed."""
    w, t, sw, st = ev["wins"], ev["trials"], ev["stage_wins"], ev["stage_trials"]
    stage, bucket = ev["stage_name"], ev["bucket_days"]
    who_ru = (f"пробывших на этапе «{stage}» не меньше {days_ru(bucket)}" if bucket
              else f"прошедших этап «{stage}»")
    who_en = f"that spent at least {days_en(bucket)} in “{stage}”" if bucket else f"that went through “{stage}”"
    usual_ru = f"; в среднем по этапу — {pct(sw / st, 'ru')}" if st and st != t else ""
    usual_en = f"; the stage's average is {pct(sw / st, 'en')}" if st and st != t else ""
    return both(
        f"Из {count_ru(t, DEALS_GEN)}, {who_ru}, выиграно {num(w, 'ru')} — {pct(w / t, 'ru')}{usual_ru}.",
        f"Of {count_en(t, 'deal')} {who_en}, {num(w, 'en')} {'was' if shown(w) == 1 else 'were'} won — "
        f"{pct(w / t, 'en')}{usual_en}.")


def plan_impact(ev: dict) -> dict:
    share, price, left = ev["share"], ev["price"], ev["remaining_plan"]
    return both(f"Сделка на {amount(price, 'ru')} закроет {pct(share, 'ru')} оставшегося плана менеджера "
                f"на месяц ({amount(left, 'ru')}).",
                f"This deal of {amount(price, 'en')} would cover {pct(share, 'en')} of the manager's remaining plan "
                f"for the month ({amount(left, 'en')}).")


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
    "win_chance": both("Договоритесь с клиентом о следующем шаге и поставьте задачу на его дату.",
                       "Agree the next step with the client and set a task for its date."),
    "plan_impact": both("Согласуйте с клиентом дату решения до конца месяца.",
                        "Agree a decision date with the client before the month ends."),
}
LOW_WIN_ACTION = both("Спросите клиента прямо, актуальна ли сделка, и закройте её, если нет.",
                      "Ask the client directly whether the deal is still on, and close it if not.")
STALLED_ACTION = both("Позвоните клиенту сегодня и решите: двигать сделку дальше или закрыть её.",
                      "Call the client today and decide: move the deal forward or close it.")


def hint_text(code: str, evidence: dict) -> dict:
    """The {ru, en} sentence of a deal hint."""
    return HINT_TEXTS[code](evidence)


def action_text(code: str, severity: str = "info", merged: tuple[str, ...] = ()) -> dict:
    """What to do about a deal hint, in both languages; one action for a card that merged several causes."""
    if {code, *merged} >= {"stuck_in_stage", "no_activity"}:
        return STALLED_ACTION
    if code == "win_chance" and severity != "info":
        return LOW_WIN_ACTION
    return ACTIONS[code]
