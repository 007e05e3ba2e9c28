"""Russian and English sentences of the first-contact hint and the speed-to-lead panel: round first, then plural."""
from __future__ import annotations

from service.insights.texts import amount, both, num, pct, plural_en, plural_ru

MINUTES = ("минуту", "минуты", "минут")
HOURS = ("час", "часа", "часов")
DAYS = ("день", "дня", "дней")
DEALS_DAT = ("сделке", "сделкам", "сделкам")
REQUESTS_GEN = ("заявки", "заявок", "заявок")


def _shown(minutes: float) -> tuple[float, str]:
    """The displayed number and unit: minutes below 90, hours below 48, days above; one decimal below 10."""
    if minutes < 90:
        return round(minutes), "min"
    value, unit = (minutes / 60, "h") if minutes < 48 * 60 else (minutes / 1440, "d")
    return (round(value, 1) if value < 10 else round(value)), unit


def wait_ru(minutes: float) -> str:
    """«47 минут», «1 минуту», «1,5 часа», «21 час» (accusative of duration)."""
    value, unit = _shown(minutes)
    return f"{num(value, 'ru')} {plural_ru(value, {'min': MINUTES, 'h': HOURS, 'd': DAYS}[unit])}"


def wait_en(minutes: float) -> str:
    value, unit = _shown(minutes)
    return f"{num(value, 'en')} {plural_en(value, {'min': 'minute', 'h': 'hour', 'd': 'day'}[unit])}"


def rough(x: float) -> float:
    """An estimate to two significant figures: «около 7 400», not «около 7 358»."""
    if x < 100:
        return round(x)
    step = 10 ** (len(str(int(x))) - 2)
    return round(x / step) * step


def _stake(stake) -> dict:
    """What is at stake, with the sample sizes behind an estimate."""
    if not stake:
        return both("", "")
    if stake["basis"] == "price":
        return both(f" На кону {amount(stake['amount'], 'ru')} — сумма сделки.",
                    f" At stake: {amount(stake['amount'], 'en')}, the deal's price.")
    n, k, t = stake["won_deals"], stake["wins"], stake["trials"]
    about = rough(stake["amount"])
    src_ru = f"заявок из «{stake['source']}»" if stake["source"] else "новых сделок"
    src_en = f"requests from “{stake['source']}”" if stake["source"] else "new deals"
    return both(f" На кону около {amount(about, 'ru')}: средняя выигранная сделка "
                f"{amount(stake['avg_won'], 'ru')} (по {num(n, 'ru')} {plural_ru(n, DEALS_DAT)}), а продажей "
                f"становятся {pct(stake['rate'], 'ru')} {src_ru} ({num(k, 'ru')} из {num(t, 'ru')}).",
                f" About {amount(about, 'en')} is at stake: the average won deal is "
                f"{amount(stake['avg_won'], 'en')} (from {num(n, 'en')} {plural_en(n, 'deal')}) and "
                f"{pct(stake['rate'], 'en')} of {src_en} end in a sale ({num(k, 'en')} of {num(t, 'en')}).")


def reason(ev: dict) -> dict:
    """One plain sentence: how long the client has waited against the limit, then what is at stake."""
    waited, limit = ev["waited_minutes"], ev["limit_minutes"]
    working_ru, working_en = ("рабочего времени ", "of working time ") if ev["working_hours"] else ("", "")
    stake = _stake(ev.get("stake"))
    # the limit itself is the hint's threshold, shown beside the number: the sentence keeps to the client
    return both(f"Клиент ждёт первого ответа уже {wait_ru(waited)} {working_ru}— никто ещё не позвонил и не "
                f"написал.{stake['ru']}",
                f"The client has been waiting {wait_en(waited)} {working_en}for a first answer — nobody has called "
                f"or written yet.{stake['en']}")


def action(severity: str) -> dict:
    """What to do now."""
    if severity == "critical":
        return both("Позвоните клиенту сейчас, а если не можете — передайте сделку тому, кто свободен.",
                    "Call the client now, or hand the deal to someone who is free.")
    return both("Позвоните или напишите клиенту сейчас.", "Call or message the client now.")
