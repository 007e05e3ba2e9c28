"""A small installed world for widget API tests: two accounts, users with every kind of amoCRM rights, deals, cards."""
from __future__ import annotations

from dataclasses import replace

from service.model import Lead, User
from tests.conftest import ACCOUNT, OTHER_ACCOUNT
from tests.support.tokens import mint_token

NOW = 1_760_000_000  # 2025-10-09, a fixed clock for the API tests
ADMIN = User(1, "Анна Админ", is_admin=True, leads_view="A", group_id=10)
CHOSEN = User(2, "Sergey Chosen", leads_view="M", group_id=10)  # a supervisor by the widget settings
ALL = User(3, "Alla All", leads_view="A", group_id=10)
GROUP = User(4, "Gleb Group", leads_view="G", group_id=20)
MINE = User(5, "Masha Mine", leads_view="M", group_id=20)
OTHER = User(6, "Mikhail Mine", leads_view="M", group_id=30)
DENIED = User(7, "Denis Denied", leads_view="D", group_id=20)
USERS = (ADMIN, CHOSEN, ALL, GROUP, MINE, OTHER, DENIED)

MASHA_DEAL = Lead(101, 1, 11, MINE.id, price=50_000, name="Masha: windows", group_id=20,
                  stage_entered_at=NOW - 30 * 86400)
MASHA_BIG = Lead(102, 1, 11, MINE.id, price=900_000, name="Masha: roof", group_id=20, stage_entered_at=NOW - 3 * 86400)
MIKHAIL_DEAL = Lead(103, 1, 12, OTHER.id, price=70_000, name="Mikhail: doors", group_id=30)
GLEB_NO_GROUP = Lead(104, 1, 11, GROUP.id, price=10_000, name="Gleb: fence", group_id=0)
WON_DEAL = Lead(105, 1, 142, MINE.id, price=5_000, name="Masha: won", group_id=20, closed_at=NOW - 86400)
LEADS = (MASHA_DEAL, MASHA_BIG, MIKHAIL_DEAL, GLEB_NO_GROUP, WON_DEAL)


def hint(code: str, severity: str = "warning", value: float = 10, unit: str = "days", lead_id: int = 0,
         evidence=None, threshold=7.0, source_code="stage") -> dict:
    """A stored card hint as recompute writes it."""
    return {"code": code, "severity": severity, "value": value, "unit": unit, "lead_id": lead_id,
            "threshold": {"value": threshold, "source": "test", "source_code": source_code},
            "evidence": evidence or {}, "action": {"ru": f"Сделайте {code}", "en": f"Do {code}"},
            "text": {"ru": f"Подсказка {code}", "en": f"Hint {code}"}, "as_of": NOW - 60, "extra": {}}


def card(lead_id: int, *hints: dict) -> dict:
    return {"lead_id": lead_id, "as_of": NOW - 60, "hints": [{**h, "lead_id": lead_id} for h in hints]}


CARDS = {
    101: card(101, hint("stuck_in_stage", "critical", 30, evidence={"stage_name": "Переговоры"}),
              hint("no_open_task", "warning", 0, "tasks", evidence={"open_tasks": 0, "completed_tasks": 2})),
    102: card(102, hint("no_activity", "warning", 8, evidence={"last_activity_at": NOW - 8 * 86400})),
    103: card(103, hint("overdue_task", "critical", 30, "hours",
                        evidence={"task_id": 9, "complete_till": NOW - 30 * 3600, "overdue_tasks": 1})),
    104: card(104, hint("no_open_task", "warning", 0, "tasks", evidence={"open_tasks": 0, "completed_tasks": 0})),
    105: card(105),
}


def install_world(deps, settings_doc=None, rate: int = 10_000) -> None:
    """Both accounts installed; ours with the users, deals and cards above; the other with its own deal 101."""
    deps.clock = lambda: NOW
    deps.settings = replace(deps.settings, api_user_rps=rate)  # a fixed clock puts every call in one second
    store = deps.store
    store.save_account(ACCOUNT)
    store.save_account(OTHER_ACCOUNT)
    store.save_users(ACCOUNT.id, USERS)
    store.save_leads(ACCOUNT.id, LEADS)
    for lead_id, doc in CARDS.items():
        store.save_card(ACCOUNT.id, lead_id, doc)
    store.save_insight(ACCOUNT.id, "settings", settings_doc or {"supervisor_ids": [CHOSEN.id]})
    store.save_users(OTHER_ACCOUNT.id, [User(1, "Other admin", is_admin=True), User(5, "Other Masha", leads_view="M")])
    store.save_leads(OTHER_ACCOUNT.id, [Lead(101, 9, 91, 5, price=1, name="Other account's deal")])
    store.save_card(OTHER_ACCOUNT.id, 101, card(101, hint("no_activity", "info", 7.5,
                                                         evidence={"last_activity_at": NOW - 9 * 86400})))


def call(client, settings, method: str, path: str, user, account=ACCOUNT, headers=None, **kwargs):
    """One API call with a fresh one-time token of `user` (a User or an id) in `account`."""
    user_id = getattr(user, "id", user)
    claims = kwargs.pop("claims", {})
    token = mint_token(settings, account, user_id, **claims)
    return client.open(f"/api/v1{path}", method=method, headers={"X-Auth-Token": token, **(headers or {})},
                       **kwargs)
