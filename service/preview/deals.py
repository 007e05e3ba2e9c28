"""What the preview's picker offers: the account's deals that have hints, the most urgent first."""
from __future__ import annotations

SEVERITY = {"critical": 0, "warning": 1, "info": 2}
SCAN_BATCH = 1000


def deals_with_hints(store, account_id: int, limit: int = 60, scan_limit: int = 20_000) -> list[dict]:
    """[{id, label, user_id, hints}] for up to `limit` deals with hints, critical ones first."""
    found = []
    for scanned, (lead_id, card) in enumerate(store.scan_cards(account_id, SCAN_BATCH)):
        hints = card.get("hints") or []
        if hints:
            found.append((min(SEVERITY.get(h.get("severity"), 3) for h in hints), -len(hints), lead_id, hints))
        if scanned >= scan_limit or len(found) >= limit * 4:
            break
    found.sort()
    chosen = found[:limit]
    leads = store.get_leads(account_id, [lead_id for _, _, lead_id, _ in chosen])
    return [_entry(lead_id, leads.get(lead_id), hints) for _, _, lead_id, hints in chosen]


def _entry(lead_id: int, lead, hints: list) -> dict:
    codes = ", ".join(sorted({h.get("code", "?") for h in hints}))
    name = (lead.name if lead and lead.name else f"#{lead_id}")[:60]
    return {"id": lead_id, "user_id": lead.responsible_user_id if lead else 0, "hints": len(hints),
            "label": f"#{lead_id} · {name} · {codes}"}


def admin_user(store, account_id: int) -> int:
    """An administrator of the account (who sees everything), else any user, else 0."""
    users = sorted(store.get_users(account_id).values(), key=lambda u: (not u.is_admin, u.id))
    return users[0].id if users else 0
