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


def test_stuck_text_names_days_limit_and_sample_in_both_languages():
    t = texts.hint_text("stuck_in_stage", STUCK)
    assert "12 дней" in t["ru"] and "9 дней" in t["ru"] and "P80 по 143 выходам из этапа за 180 дней" in t["ru"]
    assert "12 days" in t["en"] and "P80 of 143 exits in the last 180 days" in t["en"]
    assert "«Переговоры»" in t["ru"] and "“Переговоры”" in t["en"]


def test_single_day_and_single_exit_are_singular():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "days_in_stage": 21, "limit_days": 1, "stage_exits": 21,
                                           "window_days": 1})
    assert "21 день" in t["ru"] and "по 21 выходу" in t["ru"] and "limit 1 day:" in t["en"]


def test_fallback_sources_say_how_small_the_stage_sample_is():
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "pipeline", "stage_exits": 3})
    assert "по всей воронке" in t["ru"] and "всего 3 выхода" in t["ru"]
    assert "this stage has only 3 exits" in t["en"]
    t = texts.hint_text("stuck_in_stage", {**STUCK, "source_code": "default", "stage_exits": 1})
    assert "по умолчанию" in t["ru"] and "only 1 exit)" in t["en"]


def test_overdue_text_in_hours_then_days():
    t = texts.hint_text("overdue_task", {"hours_overdue": 26, "overdue_tasks": 3, "task_text": "Звонок"})
    assert "26 часов" in t["ru"] and "Всего просрочено задач: 3" in t["ru"] and "26 hours" in t["en"]
    t = texts.hint_text("overdue_task", {"hours_overdue": 73, "overdue_tasks": 1, "task_text": "КП"})
    assert "3 дня" in t["ru"] and "3 days" in t["en"]


def test_win_chance_text_shows_rate_and_sample_size():
    ev = {"win_share": 0.1667, "wins": 2, "trials": 40, "stage_win_share": 0.4, "stage_wins": 32,
          "stage_trials": 80, "age_days": 15, "bucket_days": 14, "stage_name": "Переговоры"}
    t = texts.hint_text("win_chance", ev)
    assert "17%" in t["ru"] and "из 40 сделок" in t["ru"] and "выиграно 2" in t["ru"] and "40%" in t["ru"]
    assert "17%" in t["en"] and "Of 40 deals" in t["en"] and "2 were won" in t["en"]


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
    assert "всего" not in t["ru"] and "ещё на этапе" in t["ru"] and "27 выходов" in t["ru"]
    assert "still in this stage" in t["en"]


def test_shrinkage_prior_is_named_in_the_dative():
    ev = {"win_share": 0.74, "wins": 22, "trials": 27, "stage_win_share": 0.64, "stage_wins": 20,
          "stage_trials": 27, "age_days": 57, "bucket_days": 30, "stage_name": "Принимают решение"}
    t = texts.hint_text("win_chance", ev)
    assert "по 27 сделкам" in t["ru"] and "из 27 сделок" in t["ru"]
