"""One-click "create a follow-up task" (offered by no_open_task and overdue_task): the one place the web tier calls
amoCRM synchronously, because the user is waiting for the click's result. Bounded: 3 s to connect, 8 s to read,
at most 3 s waiting for the account's rate-limit slot; never retried (a POST may have been applied)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


from service import errors
from service.amocrm.client import (AccountBlocked, AccountUnavailable, AmoClient, ApiError, PaymentRequired,
                                   RateLimited, TransientError)
from service.deps import Deps
from service.model import Account, Lead, Task
from service.services.recompute import recompute_cards
from service.services.widget.access import Caller, authorize, language_hint, require_view
from service.services.widget.hints import as_seen

TASK_CODES = ("overdue_task", "no_open_task")
SLOT_BUDGET = 3.0  # seconds a click may wait for the account's rate-limit slot
FOLLOW_UP_TYPE = 1  # amoCRM's "Follow-up" (Связаться) task type


class SlotBudget:
    """The client's sleep: gives up with RateLimited once the click has waited SLOT_BUDGET seconds."""

    def __init__(self, budget: float = SLOT_BUDGET):
        self.left = budget

    def __call__(self, seconds: float) -> None:
        if seconds > self.left:
            raise RateLimited("no amoCRM request slot within the click's budget")
        self.left -= seconds
        time.sleep(seconds)


def create_follow_up(deps: Deps, claims, lead_id: int, text: str = "", due=None, lang=None) -> dict:
    """Create a follow-up task for the deal's responsible manager, mirror it, and return the refreshed card."""
    caller, (doc, lead) = authorize(deps, claims, ("card", lead_id), ("lead", lead_id))
    require_view(deps, caller, lead_id, lead)
    if lead is None or not lead.is_open:
        raise errors.NotFound(f"deal {lead_id} is not an open deal Deal Pulse knows")
    hints = {h["code"]: h for h in (doc or {}).get("hints") or []}
    hint = next((hints[c] for c in TASK_CODES if c in hints), None)
    if hint is None:
        raise errors.Conflict(f"deal {lead_id} already has an open task on time: no follow-up is offered")
    lang = lang or language_hint(caller.account)
    text = (text or "").strip() or (hint.get("action") or {}).get(lang) or "Follow up"
    due = int(due) if due is not None else tomorrow_noon(caller.now, caller.account.timezone)
    if not caller.now < due <= caller.now + 365 * 86400:
        raise errors.BadRequest("due must be in the future and within a year (unix seconds)")
    if not deps.store.widget.claim_task_creation(caller.account.id, lead_id):
        raise errors.Conflict(f"a task is already being created for deal {lead_id}; wait for it")
    try:
        task_id = post_task(deps, caller.account, lead, text, due)
    except Exception:
        deps.store.widget.release_task_creation(caller.account.id, lead_id)
        raise
    task = Task(id=task_id, lead_id=lead_id, responsible_user_id=lead.responsible_user_id, complete_till=due,
                created_at=caller.now, updated_at=caller.now, task_type_id=FOLLOW_UP_TYPE, text=text)
    deps.store.save_tasks(caller.account.id, [task])
    recompute_cards(deps, caller.account.id, [lead_id])
    return {"task": {"id": task.id, "lead_id": lead_id, "responsible_user_id": task.responsible_user_id,
                     "complete_till": due, "text": text, "task_type_id": FOLLOW_UP_TYPE},
            "card": fresh_card(deps, caller, lead_id, lead)}


def tomorrow_noon(now: int, tz: str) -> int:
    """12:00 tomorrow in the account's timezone."""
    zone = ZoneInfo(tz)
    day = datetime.fromtimestamp(now, zone).date() + timedelta(days=1)
    return int(datetime(day.year, day.month, day.day, 12, tzinfo=zone).timestamp())


def post_task(deps: Deps, account: Account, lead: Lead, text: str, due: int) -> int:
    """POST /api/v4/tasks with the account's token; amoCRM's answers become clear API errors."""
    client = AmoClient(deps, account.id, account.base_url, session=deps.click_http, sleep=SlotBudget(),
                       backoff=0.2)
    payload = [{"entity_id": lead.id, "entity_type": "leads", "responsible_user_id": lead.responsible_user_id,
                "complete_till": due, "text": text, "task_type_id": FOLLOW_UP_TYPE}]
    try:
        body = client.post("/api/v4/tasks", payload)
    except RateLimited:
        raise _error(errors.Unavailable, "amocrm_rate_limited", "amoCRM is rate-limiting this account; "
                     "try again in a few seconds", headers={"Retry-After": "5"}) from None
    except TransientError:
        raise _error(errors.BadGateway, "amocrm_unavailable", "amoCRM did not answer in time; the task may have "
                     "been created anyway, so reload the card before trying again") from None
    except AccountBlocked:
        raise _error(errors.Unavailable, "amocrm_blocked", "amoCRM has blocked API access for this account; "
                     "an administrator must check the account") from None
    except AccountUnavailable:
        raise _error(errors.Unavailable, "amocrm_needs_reinstall", "Deal Pulse has lost access to this amoCRM "
                     "account; an administrator must reinstall the widget") from None
    except PaymentRequired:
        raise _error(errors.AppError, "amocrm_payment_required", "amoCRM refused: the account is unpaid",
                     status=402) from None
    except ApiError as exc:
        raise _error(errors.Unprocessable, "amocrm_rejected", f"amoCRM refused the task: {exc}") from None
    try:
        return int(body["_embedded"]["tasks"][0]["id"])
    except (TypeError, KeyError, IndexError, ValueError):
        raise _error(errors.BadGateway, "amocrm_unavailable", "amoCRM answered without the new task's id") from None


def _error(cls, code: str, message: str, headers=None, status=None) -> errors.AppError:
    exc = cls(message)
    exc.code = code
    if status:
        exc.status = status
    if headers:
        exc.headers = headers
    return exc


def fresh_card(deps: Deps, caller: Caller, lead_id: int, lead: Lead) -> dict:
    """The recomputed card as the caller sees it (their feedback applied)."""
    doc = deps.store.widget.cards_and_leads(caller.account.id, [lead_id])[0][0]
    feedback = deps.store.widget.user_feedback(caller.account.id, caller.user_id)
    return as_seen(doc, lead, lead_id, feedback, caller.now)[0]
