"""Every hint text over a grid of numbers: the plural follows the number as displayed; docs/hints.md is current."""
import re
from pathlib import Path

import pytest

from service.insights import hint_catalogue, texts
from service.insights.hint_catalogue import EXAMPLES, MERGED

ROOT = Path(__file__).resolve().parents[3]
GRID = (0, 1, 2, 3, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 1.5, 0.96, 9.96, 15.4, 21.4, 316.3, 1001, 94000)
NUMERIC = ("days_in_stage", "limit_days", "stage_exits", "stage_current", "pipeline_exits", "window_days",
           "hours_overdue", "overdue_tasks", "days_quiet", "days_past", "pushes", "days_pushed", "wins", "trials",
           "stage_wins", "stage_trials", "bucket_days", "price", "remaining_plan", "completed_tasks")
COUNTS = {"stage_exits", "stage_current", "pipeline_exits", "overdue_tasks", "pushes", "wins", "trials", "stage_wins",
          "stage_trials", "completed_tasks"}  # whole numbers in life

RU_FORMS = [texts.DAYS, texts.HOURS, texts.DEALS, texts.DEALS_GEN, texts.TIMES]
RU_NUMBER = r"(\d{1,3}(?:\u00a0\d{3})*(?:,\d)?)"
EN_NUMBER = r"(\d{1,3}(?:,\d{3})*(?:\.\d)?)"
EN_WORDS = ("day", "hour", "deal", "time", "task")


def expected_ru(shown: str, forms) -> str:
    """The rule, written independently: a fraction takes the genitive singular; else by the last two digits."""
    if "," in shown:
        return forms[1]
    n = int(shown.replace("\u00a0", ""))
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def check_plurals(text: dict) -> int:
    """Assert every «number word» pair agrees; return how many pairs were checked."""
    checked = 0
    ru_words = "|".join(sorted(set(w for forms in RU_FORMS for w in forms), key=len, reverse=True))
    for shown, word in re.findall(RU_NUMBER + r" (" + ru_words + r")\b", text["ru"]):
        candidates = [f for f in RU_FORMS if word in f]
        assert any(expected_ru(shown, f) == word for f in candidates), (shown, word, text["ru"])
        checked += 1
    en_words = "|".join(f"{w}s?" for w in EN_WORDS)
    for shown, word in re.findall(EN_NUMBER + r" (" + en_words + r")\b", text["en"]):
        assert (word in EN_WORDS) == (shown == "1"), (shown, word, text["en"])
        checked += 1
    return checked


def variants():
    """Every example with each of its numbers replaced by every grid value that could occur."""
    for example in EXAMPLES + MERGED:
        for name in NUMERIC:
            if name not in example.evidence:
                continue
            for value in GRID:
                if name in COUNTS and value != int(value):
                    continue
                evidence = {**example.evidence, name: value}
                if example.code == "win_chance" and not 5 <= evidence["trials"] or \
                        evidence.get("wins", 0) > evidence.get("trials", 1e9) or \
                        evidence.get("stage_wins", 0) > evidence.get("stage_trials", 1e9):
                    continue  # a chance is shown only from 5 comparable deals, and wins never exceed trials
                yield example._replace(evidence=evidence), name, value


@pytest.mark.parametrize("example, name, value", list(variants()),
                         ids=lambda v: v.code if isinstance(v, hint_catalogue.Example) else str(v))
def test_every_template_agrees_with_its_numbers(example, name, value):
    text = texts.hint_text(example.code, example.evidence)
    check_plurals(text)
    assert "из 0 " not in text["ru"] and "Of 0 " not in text["en"]


def test_the_grid_reaches_every_numeric_template():
    checked = {e.code: 0 for e in EXAMPLES}
    for example, _, _ in variants():
        checked[example.code] += check_plurals(texts.hint_text(example.code, example.evidence))
    assert all(n > 0 for code, n in checked.items() if code not in ("no_open_task", "plan_impact")), checked


@pytest.mark.parametrize("shown, word", [("1", "день"), ("2", "дня"), ("5", "дней"), ("11", "дней"),
                                         ("14", "дней"), ("21", "день"), ("22", "дня"), ("1,5", "дня"),
                                         ("15", "дней"), ("316", "дней"), ("8,3", "дня")])
def test_the_independent_rule_itself(shown, word):
    assert expected_ru(shown, texts.DAYS) == word


@pytest.mark.parametrize("value, ru, en", [(15.4, "15 дней", "15 days"), (316.3, "316 дней", "316 days"),
                                           (1.5, "1,5 дня", "1.5 days"), (0.96, "1 день", "1 day"),
                                           (9.96, "10 дней", "10 days"), (21.4, "21 день", "21 days"),
                                           (12.5, "13 дней", "13 days"), (0, "0 дней", "0 days")])
def test_the_plural_follows_the_rounded_number(value, ru, en):
    assert texts.days_ru(value) == ru and texts.days_en(value) == en


def test_every_code_and_severity_is_in_the_catalogue():
    pairs = {(e.code, e.severity) for e in EXAMPLES}
    assert {code for code, _ in pairs} == set(texts.HINT_TEXTS)
    for code, severities in {"stuck_in_stage": ("warning", "critical"), "overdue_task": ("info", "warning", "critical"),
                             "no_activity": ("warning", "critical"), "close_date_pushed": ("info", "warning", "critical"),
                             "win_chance": ("info", "warning"), "plan_impact": ("info", "warning")}.items():
        assert {(code, s) for s in severities} <= pairs


def test_docs_hints_md_is_generated_from_the_code():
    assert (ROOT / "docs" / "hints.md").read_text(encoding="utf-8") == hint_catalogue.markdown(), \
        "docs/hints.md is stale: run `python -m service hints-doc`"
