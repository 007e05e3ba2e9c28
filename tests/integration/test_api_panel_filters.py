"""GET /panel?from=&to=&pipeline_id=&user_id=&group_id=: filtered team figures and the per-manager report."""
import pytest

from service.model import Lead, Pipeline, Stage, User
from service.services.recompute import recompute_account
from tests.conftest import ACCOUNT
from tests.support.api import ADMIN, CHOSEN, MINE, NOW, OTHER, call, install_world

MAIN = Pipeline(1, "Продажи", (Stage(11, 1, "Первичный контакт", 1), Stage(12, 1, "Переговоры", 2)))
PARTNERS = Pipeline(2, "Партнёры", (Stage(21, 2, "Первичный контакт", 1),))


@pytest.fixture
def world(deps):
    install_world(deps)
    deps.store.save_pipelines(ACCOUNT.id, [MAIN, PARTNERS])
    deps.store.save_leads(ACCOUNT.id, [Lead(201, 2, 21, OTHER.id, price=7_000, name="Partner deal",
                                            created_at=NOW - 86400, stage_entered_at=NOW - 86400)])
    recompute_account(deps, ACCOUNT.id)


def panel(client, settings, query="", user=ADMIN):  # only admins see every deal (CHOSEN's amoCRM right is M)
    return call(client, settings, "GET", f"/panel{query}", user)


def test_default_panel_is_the_main_pipeline_for_the_last_30_days(client, settings, world):
    reply = panel(client, settings)
    assert reply.status_code == 200, reply.json
    body = reply.json
    assert body["filters"]["pipeline_id"] == 1 and body["filters"]["to"] == NOW
    start, end = body["team"]["period"]
    assert end - start == 30 * 86400 and start <= body["filters"]["from"] < start + 86400  # the last 30 local days
    assert {row["status_id"] for row in body["team"]["funnel"]} == {11, 12}
    assert [p["id"] for p in body["options"]["pipelines"]] == [1, 2] and body["options"]["pipelines"][0]["main"]


def test_one_pipeline_at_a_time(client, settings, world):
    body = panel(client, settings, "?pipeline_id=2").json
    assert [(r["status_id"], r["count"], r["amount"]) for r in body["team"]["funnel"]] == [(21, 1, 7000)]
    assert [r["user_id"] for r in body["report"]["rows"]] == [OTHER.id]
    assert body["report"]["rows"][0]["in_work"] == 1 and body["report"]["rows"][0]["created"] == 1


def test_one_manager(client, settings, world):
    body = panel(client, settings, f"?user_id={MINE.id}&from={NOW - 7 * 86400}&to={NOW}").json
    assert body["filters"]["user_id"] == MINE.id and body["filters"]["from"] == NOW - 7 * 86400
    assert sum(r["count"] for r in body["team"]["funnel"]) == 2  # Masha's two open deals in the main pipeline
    rows = body["report"]["rows"]
    assert [r["user_id"] for r in rows] == [MINE.id] and rows[0]["won"] == 1 and rows[0]["won_amount"] == 5000


@pytest.mark.parametrize("query, field", [("?pipeline_id=99", None), ("?user_id=4242", None),
                                          (f"?from={NOW}&to={NOW - 1}", "from"), ("?from=abc", "from"),
                                          ("?pipeline_id=0", "pipeline_id")])
def test_bad_filters_are_a_clear_400(client, settings, world, query, field):
    reply = panel(client, settings, query)
    assert reply.status_code == 400 and reply.json["error"] and reply.json["message"]
    if field:
        assert field in reply.json["fields"]


def test_filters_stay_supervisors_only(client, settings, world):
    assert panel(client, settings, "?pipeline_id=2", user=MINE).status_code == 403


def test_a_report_row_opens_that_managers_deals_within_the_callers_rights(client, settings, world):
    mine = call(client, settings, "GET", f"/attention?scope=visible&user_id={MINE.id}", ADMIN).json
    assert mine["items"] and {i["responsible_user_id"] for i in mine["items"]} == {MINE.id}
    theirs = call(client, settings, "GET", f"/attention?scope=visible&user_id={OTHER.id}", MINE).json
    assert theirs["items"] == []  # Masha sees only her own deals: another manager's stay hidden


def test_a_new_recompute_replaces_the_cube_a_web_process_holds(client, settings, world, deps):
    assert len(panel(client, settings, "?pipeline_id=2").json["report"]["rows"]) == 1
    deps.store.save_leads(ACCOUNT.id, [Lead(202, 2, 21, MINE.id, price=3_000, name="Another partner deal",
                                            created_at=NOW - 3600, stage_entered_at=NOW - 3600)])
    recompute_account(deps, ACCOUNT.id)  # the same clock: only the stored version tells the cubes apart
    funnel = panel(client, settings, "?pipeline_id=2").json["team"]["funnel"]
    assert [(r["count"], r["amount"]) for r in funnel] == [(2, 10_000)]


def test_speed_to_lead_follows_the_filters(client, settings, world):
    default = panel(client, settings).json["speed_to_lead"]
    partners = panel(client, settings, "?pipeline_id=2").json["speed_to_lead"]
    mine = panel(client, settings, f"?user_id={MINE.id}&from={NOW - 7 * 86400}&to={NOW}").json["speed_to_lead"]
    assert default["filters"]["pipeline_id"] == 1 and partners["filters"]["pipeline_id"] == 2
    assert [m["user_id"] for m in partners["managers"]] == [OTHER.id]  # the partner deal arrived a day ago
    assert partners["team"]["deals"] == 1 and default["team"]["deals"] != partners["team"]["deals"]
    assert mine["filters"]["user_id"] == MINE.id and {m["user_id"] for m in mine["managers"]} <= {MINE.id}
    assert mine["period"] == [NOW - 7 * 86400, NOW]


# --- a period before the mirror's history: unknown, never zero (review finding v3-3)
DAY = 86400


def first_whole_day_after(ts):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(ACCOUNT.timezone)
    return int(datetime.combine(datetime.fromtimestamp(ts, zone).date() + timedelta(days=1), time(), zone).timestamp())


def test_a_period_ending_before_the_history_has_no_figures_and_says_where_history_starts(client, settings, world,
                                                                                         deps):
    deps.store.save_sync(ACCOUNT.id, "history", {"since": NOW - 5 * DAY})  # the first full sync's window
    body = panel(client, settings, f"?from={NOW - 60 * DAY}&to={NOW - 10 * DAY}").json
    f = body["filters"]
    assert f["history"] == "before" and f["available_from"] == first_whole_day_after(NOW - 5 * DAY)
    assert (f["from"], f["to"]) == (NOW - 60 * DAY, NOW - 10 * DAY)  # the period asked, shown as asked
    assert body["team"] is None and body["report"] is None and body["speed_to_lead"] is None  # unknown, not 0


def test_a_period_starting_before_the_history_is_cut_to_the_days_we_hold(client, settings, world, deps):
    deps.store.save_sync(ACCOUNT.id, "history", {"since": NOW - 5 * DAY})
    body = panel(client, settings, f"?from={NOW - 60 * DAY}&to={NOW}").json
    f, start = body["filters"], first_whole_day_after(NOW - 5 * DAY)
    assert (f["history"], f["from"], f["requested_from"]) == ("clamped", start, NOW - 60 * DAY)
    assert body["team"]["period"][0] == start
    masha = [r for r in body["report"]["rows"] if r["user_id"] == MINE.id]
    assert masha[0]["won"] == 1  # the deal won yesterday is inside the days we hold
    held = panel(client, settings, f"?from={start}&to={NOW}").json
    assert held["filters"]["history"] is None and held["team"] == body["team"] and held["report"] == body["report"]


def test_without_a_recorded_sync_the_history_is_the_window_a_sync_takes(client, settings, world):
    days = settings.sync_history_days
    body = panel(client, settings, f"?from={NOW - (days + 40) * DAY}&to={NOW - (days + 5) * DAY}").json
    assert body["filters"]["history"] == "before" and body["team"] is None
    assert body["filters"]["available_from"] == first_whole_day_after(NOW - days * DAY)
    assert panel(client, settings).json["filters"]["history"] is None  # the default period is whole


# --- the caller's amoCRM rights per stage (status_rights), as the card and attention lists honour them (v3-4)
VERA = User(8, "Vera Restricted", leads_view="A", group_id=20,  # chosen supervisor; amoCRM hides from her:
            stage_views=((1, 12, "D"),  # every deal in «Переговоры»
                         (1, 11, "G"),  # in «Первичный контакт», all but her group's (20: Gleb, Masha, Denis)
                         (1, 142, "D")))  # every won deal
OTHERS_NEW = Lead(106, 1, 11, OTHER.id, price=3_000, name="Mikhail: gate", group_id=30, created_at=NOW - 86400,
                  stage_entered_at=NOW - 86400)


@pytest.fixture
def restricted(deps, world):
    deps.store.save_users(ACCOUNT.id, [VERA])
    deps.store.save_leads(ACCOUNT.id, [OTHERS_NEW])
    deps.store.save_insight(ACCOUNT.id, "settings", {"supervisor_ids": [CHOSEN.id, VERA.id]})
    recompute_account(deps, ACCOUNT.id)


def figures(body):
    funnel = {r["status_id"]: (r["count"], r["amount"]) for r in body["team"]["funnel"]}
    rows = {r["user_id"]: r for r in body["report"]["rows"]}
    return funnel, {u: (r["in_work"], r["won"], r["won_amount"]) for u, r in rows.items() if u in (MINE.id, OTHER.id)}


def test_a_supervisor_sees_no_figure_of_a_stage_or_manager_amocrm_hides_from_them(client, settings, restricted):
    # By hand, main pipeline: «Первичный контакт» holds 101 (Masha 50 000), 102 (Masha 900 000), 104 (Gleb 10 000),
    # 106 (Mikhail 3 000); «Переговоры» 103 (Mikhail 70 000); Masha won 105 (5 000) yesterday.
    assert figures(panel(client, settings).json) == (
        {11: (4, 963_000), 12: (1, 70_000)},
        {MINE.id: (2, 1, 5_000), OTHER.id: (2, 0, 0)})  # an admin sees it all
    body = panel(client, settings, user=VERA).json
    assert figures(body) == ({11: (3, 960_000)},  # Mikhail's 106 (group 30) and the whole of «Переговоры» hidden
                             {MINE.id: (2, 0, 0), OTHER.id: (0, 0, 0)})  # won deals hidden too
    assert [r["status_id"] for r in body["team"]["time_in_stage"]] == [11]
    assert [r["status_id"] for r in panel(client, settings, user=ADMIN).json["team"]["time_in_stage"]] == [11, 12]


def test_the_report_drill_down_lists_none_of_the_deals_it_hides(client, settings, restricted):
    # Mikhail's deals: 103 («Переговоры», hidden), 106 («Первичный контакт», outside Vera's group), 201 (partners)
    seen = call(client, settings, "GET", f"/attention?scope=visible&user_id={OTHER.id}", VERA)
    assert seen.status_code == 200 and [i["lead_id"] for i in seen.json["items"]] == [201]
    admin = call(client, settings, "GET", f"/attention?scope=visible&user_id={OTHER.id}", ADMIN).json
    assert {i["lead_id"] for i in admin["items"]} >= {103}


def test_figures_summed_over_hidden_deals_are_not_shown_to_a_restricted_supervisor(client, settings, restricted):
    body = panel(client, settings, user=VERA).json
    assert body["restricted"] is True and body["forecast"] is None and body["backtest"] is None
    rows = {r["user_id"]: r for r in body["managers"]}
    assert rows[MINE.id]["hidden_by_rights"] and rows[MINE.id]["plan"] is None  # her won deal sits in hidden 142
    assert rows[MINE.id]["workload"] is None and rows[OTHER.id]["hygiene"] is None
    whole = panel(client, settings).json  # an admin: rights hide nothing
    assert whole["restricted"] is False and not any(r.get("hidden_by_rights") for r in whole["managers"])
    assert {r["user_id"]: r["workload"] for r in whole["managers"]}[MINE.id] is not None
