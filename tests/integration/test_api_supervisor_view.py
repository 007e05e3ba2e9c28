"""A supervisor chosen in the widget settings sees deals only as amoCRM's rights.leads.view lets them: G their
group's, M their own; only account admins see every deal. Hand counts over tests.support.api's world."""
import pytest

from service.model import Lead, Pipeline, Stage, User
from service.services.recompute import recompute_account
from tests.conftest import ACCOUNT
from tests.support.api import (ADMIN, CHOSEN, DENIED, GLEB_NO_GROUP, GROUP, MASHA_BIG, MASHA_DEAL, MIKHAIL_DEAL,
                               MINE, NOW, OTHER, call, install_world)

MAIN = Pipeline(1, "Продажи", (Stage(11, 1, "Первичный контакт", 1), Stage(12, 1, "Переговоры", 2)))
PARTNERS = Pipeline(2, "Партнёры", (Stage(21, 2, "Первичный контакт", 1),))
GALINA = User(9, "Galina Group", leads_view="G", group_id=20)  # chosen; amoCRM: her group's deals (20)
# Group 20: Gleb (4), Masha (5), Denis (7) and Galina. Outside: Mikhail (6, group 30), Anna, Sergey, Alla (10).


@pytest.fixture
def world(deps):
    install_world(deps, {"supervisor_ids": [CHOSEN.id, GALINA.id]})
    deps.store.save_users(ACCOUNT.id, [GALINA])
    deps.store.save_pipelines(ACCOUNT.id, [MAIN, PARTNERS])
    deps.store.save_leads(ACCOUNT.id, [Lead(201, 2, 21, OTHER.id, price=7_000, name="Partner deal",
                                            created_at=NOW - 86400, stage_entered_at=NOW - 86400)])
    recompute_account(deps, ACCOUNT.id)


def get(client, settings, user, path):
    reply = call(client, settings, "GET", path, user)
    assert reply.status_code == 200, reply.json
    return reply.json


def funnel(body):
    return {r["status_id"]: (r["count"], r["amount"]) for r in body["team"]["funnel"]}


def report(body):
    return {r["user_id"]: (r["in_work"], r["in_work_amount"], r["won"], r["won_amount"])
            for r in body["report"]["rows"]}


def test_a_group_supervisors_panel_counts_only_their_groups_deals(client, settings, world):
    # By hand, main pipeline: «Первичный контакт» 101 (Masha 50 000), 102 (Masha 900 000), 104 (Gleb 10 000,
    # no group on the deal: Gleb's group 20); «Переговоры» 103 (Mikhail 70 000, group 30); Masha won 105 (5 000).
    admin = get(client, settings, ADMIN, "/panel")
    assert funnel(admin) == {11: (3, 960_000), 12: (1, 70_000)}
    assert report(admin)[OTHER.id] == (1, 70_000, 0, 0) and admin["restricted"] is False
    body = get(client, settings, GALINA, "/panel")
    assert funnel(body) == {11: (3, 960_000), 12: (0, 0)}  # Mikhail's 103 is outside her group
    assert report(body) == {MINE.id: (2, 950_000, 1, 5_000), GROUP.id: (1, 10_000, 0, 0)}
    assert body["restricted"] is True and body["forecast"] is None and body["backtest"] is None
    assert body["team"]["incoming"] is None  # requests with no manager are the account's whole
    assert set(body["team"]["workload"]["users"]) <= {str(u) for u in (GROUP.id, MINE.id, DENIED.id, GALINA.id)}
    rows = {r["user_id"]: r for r in body["managers"]}
    assert rows[OTHER.id]["hidden_by_rights"] and rows[OTHER.id]["hygiene"] is None
    assert not rows[MINE.id].get("hidden_by_rights") and rows[MINE.id]["workload"] is not None
    assert [u["id"] for u in body["options"]["users"]] == [DENIED.id, GALINA.id, GROUP.id, MINE.id]  # by name
    assert body["options"]["groups"] == [20]


def test_a_group_supervisor_gets_no_figures_of_a_manager_outside_their_group(client, settings, world):
    body = get(client, settings, GALINA, f"/panel?user_id={OTHER.id}&pipeline_id=2")  # Mikhail's partner deal
    assert body["team"] is None and body["report"] is None and body["hidden_by_rights"] is True
    assert body["speed_to_lead"] is None
    assert report(get(client, settings, ADMIN, f"/panel?user_id={OTHER.id}&pipeline_id=2")) == {
        OTHER.id: (1, 7_000, 0, 0)}
    mine = get(client, settings, GALINA, f"/panel?user_id={MINE.id}")
    assert report(mine) == {MINE.id: (2, 950_000, 1, 5_000)}


def test_an_own_deals_supervisors_panel_counts_only_their_own(client, settings, world):
    body = get(client, settings, CHOSEN, "/panel")  # Sergey holds no deal
    assert funnel(body) == {11: (0, 0), 12: (0, 0)} and report(body) == {}
    hidden = {r["user_id"]: r.get("hidden_by_rights") for r in body["managers"]}
    assert hidden.pop(CHOSEN.id) is None and set(hidden.values()) == {True} and MINE.id in hidden  # only his own
    assert [u["id"] for u in body["options"]["users"]] == [CHOSEN.id]


def test_a_group_supervisors_attention_list_and_drill_down_stay_in_their_group(client, settings, world):
    # Open deals with hints: 101, 102 (Masha), 104 (Gleb), 103 (Mikhail), 201 (Mikhail, partners)
    seen = get(client, settings, GALINA, "/attention?scope=visible&limit=100")
    assert {i["lead_id"] for i in seen["items"]} == {MASHA_DEAL.id, MASHA_BIG.id, GLEB_NO_GROUP.id}
    assert seen["total"] == 3
    admin = get(client, settings, ADMIN, "/attention?scope=visible&limit=100")
    assert {i["lead_id"] for i in admin["items"]} >= {MIKHAIL_DEAL.id, 201} and admin["total"] == 5
    drill = get(client, settings, GALINA, f"/attention?scope=visible&user_id={OTHER.id}")
    assert (drill["total"], drill["items"]) == (0, [])
    drill = get(client, settings, GALINA, f"/attention?scope=visible&user_id={MINE.id}")
    assert {i["lead_id"] for i in drill["items"]} == {MASHA_DEAL.id, MASHA_BIG.id}
    assert call(client, settings, "GET", f"/leads/{MIKHAIL_DEAL.id}/hints", GALINA).status_code == 403
    assert call(client, settings, "GET", f"/leads/{MASHA_DEAL.id}/hints", GALINA).status_code == 200


def test_a_group_supervisor_reads_the_report_of_their_groups_managers_only(client, settings, world):
    masha = get(client, settings, GALINA, f"/managers/{MINE.id}")
    assert masha["summary"] is not None and "hidden_by_rights" not in masha
    mikhail = get(client, settings, GALINA, f"/managers/{OTHER.id}")
    assert mikhail["summary"] is None and mikhail["hidden_by_rights"] is True
    assert get(client, settings, ADMIN, f"/managers/{OTHER.id}")["summary"] is not None
    me = get(client, settings, GALINA, "/me")
    assert (me["is_supervisor"], me["is_admin"], me["leads_view"]) == (True, False, "G")
