"""Texts: Russian plurals, numbers in both languages, a sentence for every hint."""
import pytest

from service.insights import texts
from service.insights.texts import DAYS, NBSP, num, plural_ru


@pytest.mark.parametrize("n, word", [(1, "день"), (2, "дня"), (4, "дня"), (5, "дней"), (11, "дней"),
                                     (12, "дней"), (14, "дней"), (21, "день"), (22, "дня"), (25, "дней"),
                                     (101, "день"), (111, "дней"), (0, "дней"), (1.5, "дня")])
def test_russian_plural_forms(n, word):
    assert plural_ru(n, DAYS) == word


def test_numbers_have_thousands_separators_per_language():
    assert num(94000, "ru") == f"94{NBSP}000" and num(94000, "en") == "94,000"
    assert num(1.5, "ru") == "1,5" and num(1.5, "en") == "1.5"
    assert num(12.4, "en") == "12"


STUCK = {"stage_name": "Переговоры", "days_in_stage": 12, "limit_days": 9, "percentile": "P80",
         "source_code": "stage", "stage_exits": 143, "pipeline_exits": 500, "window_days": 180}


def test_stuck_text_says_in_plain_words_what_it_was_compared_with():
    t = texts.hint_text("stuck_in_stage", STUCK)
    assert t["ru"] == ("Сделка 12 дней на этапе «Переговоры» — дольше, чем 80 из 100 сделок, прошедших этот этап "
                       "за полгода.")
    assert t["en"] == ("The deal has been in “Переговоры” for 12 days — longer than 80 of 100 deals that went "
                       "through this stage in the last six months.")
    assert "P80" not in t["ru"] + t["en"] and "выход" not in t["ru"]  # the statistics stay in `threshold`


def test_single_day_is_singular():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "days_in_stage": 21, "percentile": "P95"})
    assert "Сделка 21 день" in t["ru"] and "95 из 100" in t["ru"] and "for 21 days" in t["en"]
    t = texts.hint_text("stuck_in_stage", {**STUCK, "days_in_stage": 1})
    assert "Сделка 1 день" in t["ru"] and "for 1 day " in t["en"]


def test_fallback_sources_say_how_small_the_stage_sample_is():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "pipeline", "stage_exits": 3})
    assert "на любом этапе этой воронки" in t["ru"] and "этот этап покинули всего 3 сделки" in t["ru"]
    assert "only 3 deals have left this stage" in t["en"]
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "default", "stage_exits": 1})
    assert "по умолчанию в 9 дней" in t["ru"] and "покинула всего 1 сделка" in t["ru"]
    assert "only 1 deal has left this stage" in t["en"]
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "manual"})
    assert "заданного руководителем" in t["ru"] and "your supervisor set" in t["en"]


def test_overdue_text_in_hours_then_days():
    t = texts.hint_text("overdue_task", {"hours_overdue": 26, "overdue_tasks": 3, "task_text": "Звонок"})
    assert "26 часов" in t["ru"] and "Всего просрочено задач: 3" in t["ru"] and "26 hours" in t["en"]
    t = texts.hint_text("overdue_task", {"hours_overdue": 73, "overdue_tasks": 1, "task_text": "КП"})
    assert "3 дня" in t["ru"] and "3 days" in t["en"]


def test_win_chance_text_shows_the_rate_of_the_counts_beside_it():
    ev = {"win_share": 0.05, "wins": 2, "trials": 40, "stage_win_share": 0.4, "stage_wins": 32,
          "stage_trials": 80, "age_days": 15, "bucket_days": 14, "stage_name": "Переговоры"}
    t = texts.hint_text("win_chance", ev)
    assert t["ru"] == ("Из 40 сделок, пробывших на этапе «Переговоры» не меньше 14 дней, выиграно 2 — 5%; "
                       "в среднем по этапу — 40%.")
    assert "Of 40 deals" in t["en"] and "2 were won — 5%" in t["en"]


def test_plan_impact_text_has_amounts_with_separators():
    t = texts.hint_text("plan_impact", {"share": 0.3, "price": 30000, "remaining_plan": 100000})
    assert f"30{NBSP}000" in t["ru"] and "30%" in t["ru"] and f"100{NBSP}000" in t["ru"]
    assert "30,000" in t["en"] and "100,000" in t["en"]


def test_close_date_texts():
    t = texts.hint_text("close_date_pushed", {"pushes": 2, "days_pushed": 25})
    assert "2 раза" in t["ru"] and "25 дней" in t["ru"] and "2 times" in t["en"]
    t = texts.hint_text("close_date_passed", {"days_past": 1})
    assert "1 день назад" in t["ru"] and "1 day ago" in t["en"]


def test_every_code_has_an_action_in_both_languages():
    for code in texts.HINT_TEXTS:
        action = texts.action_text(code)
        assert action["ru"] and action["en"]


def test_censored_stage_is_not_called_small():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "default", "stage_exits": 27, "min_exits": 20})
    assert "всего" not in t["ru"] and "ещё не покинули" in t["ru"]
    assert "have not left it yet" in t["en"]


def test_crowded_stage_says_it_compared_with_the_deals_waiting_there():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "stage_current", "percentile": "P95"})
    assert "дольше, чем 95 из 100 сделок, которые сейчас на этом этапе" in t["ru"]
    assert "longer than 95 of 100 deals now in this stage" in t["en"]


def test_first_bucket_win_chance_names_the_stage_without_an_age():
    ev = {"win_share": 0.4, "wins": 32, "trials": 80, "stage_win_share": 0.4, "stage_wins": 32,
          "stage_trials": 80, "age_days": 1, "bucket_days": 0, "stage_name": "Переговоры"}
    t = texts.hint_text("win_chance", ev)
    assert t["ru"] == "Из 80 сделок, прошедших этап «Переговоры», выиграно 32 — 40%."
    assert t["en"] == "Of 80 deals that went through “Переговоры”, 32 were won — 40%."


def test_overdue_text_names_the_due_moment_in_the_accounts_timezone():
    ev = {"hours_overdue": 3, "overdue_tasks": 1, "task_text": "Звонок", "complete_till": 1764932400}
    assert "срок был 5 декабря в 14:00" in texts.hint_text("overdue_task", {**ev, "timezone": "Europe/Moscow"})["ru"]
    assert "due Dec 5, 01:00" in texts.hint_text("overdue_task", {**ev, "timezone": "Pacific/Honolulu"})["en"]


def test_no_action_is_an_empty_exhortation():
    for code in texts.HINT_TEXTS:
        for severity in ("info", "warning", "critical"):
            assert "Сосредоточьтесь" not in texts.action_text(code, severity)["ru"]


def test_weakest_step_prints_the_rate_of_the_counts_beside_it():
    from service.insights.panel_texts import step_place
    from service.insights.rates import rate
    step = type("Step", (), {"from_status": 1, "to_status": 2, "rate": rate(0, 23, 0.4, 20)})()
    text = step_place(step, {1: "Переговоры", 2: "Принимают решение"})["text"]
    assert "0% (0 из 23 сделок)" in text["ru"] and "17%" not in text["ru"] and "0% (0 of 23 deals)" in text["en"]


@pytest.mark.parametrize("hours", [0.0, 0.1, 0.4])
def test_a_task_just_past_due_is_overdue_by_less_than_an_hour_not_by_zero_hours(hours):
    """The re-check recomputes the card a second after the due time: that is when the hint is read most."""
    t = texts.hint_text("overdue_task", {"hours_overdue": hours, "overdue_tasks": 1, "task_text": "Звонок"})
    assert "просрочена менее чем на час" in t["ru"] and "0 часов" not in t["ru"], t["ru"]
    assert "is less than an hour overdue" in t["en"] and "0 hours" not in t["en"], t["en"]


@pytest.mark.parametrize("hours, ru, en", [(0.5, "на 1 час", "1 hour"), (47.4, "на 47 часов", "47 hours"),
                                           (47.6, "на 2 дня", "2 days"), (48, "на 2 дня", "2 days")])
def test_the_unit_of_an_overdue_time_is_chosen_on_the_number_as_shown(hours, ru, en):
    """Round first, then choose: 47.6 hours is shown as 48, which reads as 2 days, not «48 часов»."""
    t = texts.hint_text("overdue_task", {"hours_overdue": hours, "overdue_tasks": 1, "task_text": "Звонок"})
    assert f"просрочена {ru}" in t["ru"] and f"is {en} overdue" in t["en"], t


@pytest.mark.parametrize("key, mine, ru, en", [
    ("without_tasks", 1, "1 сделка без задач", "1 deal without tasks"),
    ("without_tasks", 3, "3 сделки без задач", "3 deals without tasks"),
    ("without_tasks", 11, "11 сделок без задач", "11 deals without tasks"),
    ("overdue_tasks", 21, "21 просроченная задача", "21 overdue tasks"),
    ("overdue_tasks", 2, "2 просроченные задачи", "2 overdue tasks"),
    ("stuck", 1, "1 зависшая сделка", "1 stuck deal"),
    ("stuck", 5, "5 зависших сделок", "5 stuck deals"),
])
def test_a_managers_hygiene_count_takes_the_form_of_its_number(key, mine, ru, en):
    """«У менеджера 1 сделок без задач» was printed whenever a manager had one more than a team median of 0."""
    from service.insights.panel_texts import hygiene_text

    text = hygiene_text(key, mine, 0.5)
    assert f"У менеджера {ru} при медиане команды 0,5." == text["ru"]
    assert f"The manager has {en}; the team median is 0.5." == text["en"]
