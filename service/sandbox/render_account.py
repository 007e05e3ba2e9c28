"""Account-level objects rendered as API v4 JSON: account, users, unsorted, webhooks."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .render import link

ACCOUNT_WITH = ("amojo_id", "amojo_rights", "users_groups", "task_types", "version", "entity_names",
                "datetime_settings", "drive_url", "is_api_filter_enabled", "uuid")


def timezone_offset(name: str, at: float) -> str:
    """'+03:00' style offset of a timezone at a moment."""
    offset = dt.datetime.fromtimestamp(at, ZoneInfo(name)).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def account(world, base: str, with_: frozenset = frozenset()) -> dict:
    """GET /api/v4/account; with_ adds the parts the docs mark 'requires with'."""
    acc = world.account
    out = {"id": acc["id"], "name": acc["name"], "subdomain": acc["subdomain"],
           "current_user_id": acc["current_user_id"], "country": acc.get("country", "RU"),
           "customers_mode": acc.get("customers_mode", "disabled"),
           "is_unsorted_on": acc.get("is_unsorted_on", True),
           "is_loss_reason_enabled": acc.get("is_loss_reason_enabled", True),
           "is_helpbot_enabled": False, "is_technical_account": acc.get("is_technical_account", False)}
    if "is_api_filter_enabled" in with_:
        out["is_api_filter_enabled"] = bool(acc.get("is_api_filter_enabled", False))
    out["contact_name_display_order"] = 1
    for key in ("amojo_id", "uuid"):
        if key in with_:
            out[key] = acc.get(key, "")
    if "drive_url" in with_:
        out["drive_url"] = acc.get("drive_url", "https://drive-b.amocrm.ru")
    if "version" in with_:
        out["version"] = acc.get("version", 16)
    if "entity_names" in with_:
        out["entity_names"] = acc.get("entity_names") or default_entity_names()
    out["_links"] = link(f"{base}/api/v4/account")
    out["_embedded"] = account_embedded(world, with_)
    return out


def account_embedded(world, with_: frozenset) -> dict:
    """The with= parts that live under _embedded."""
    emb = {}
    if "amojo_rights" in with_:
        emb["amojo_rights"] = {"can_direct": True, "can_create_groups": True}
    if "users_groups" in with_:
        emb["users_groups"] = [{"id": gid, "name": name, "uuid": None} for gid, name in world.groups]
    if "task_types" in with_:
        emb["task_types"] = [{"id": tid, "name": name, "color": None, "icon_id": None, "code": code}
                             for tid, name, code in world.task_types]
    if "datetime_settings" in with_:
        tz = world.account.get("timezone", "Europe/Moscow")
        emb["datetime_settings"] = {
            "date_pattern": "d.m.Y H:i", "short_date_pattern": "d.m.Y", "short_time_pattern": "H:i",
            "date_formant": "d.m.Y",  # sic: amoCRM's own key spelling
            "time_format": "H:i:s", "timezone": tz, "timezone_offset": timezone_offset(tz, world.now())}
    return emb


def default_entity_names() -> dict:
    """Entity names for leads in the layout the account docs show (ru with cases, en, es)."""
    ru_plural = {"dative": "сделкам", "default": "сделки", "genitive": "сделок", "accusative": "сделки",
                 "instrumental": "сделками", "prepositional": "сделках"}
    ru_single = {"dative": "сделке", "default": "сделка", "genitive": "сделки", "accusative": "сделку",
                 "instrumental": "сделкой", "prepositional": "сделке"}
    return {"leads": {"ru": {"gender": "f", "plural_form": ru_plural, "singular_form": ru_single},
                      "en": {"singular_form": {"default": "lead"}, "plural_form": {"default": "leads"}, "gender": "f"},
                      "es": {"singular_form": {"default": "acuerdo"}, "plural_form": {"default": "acuerdos"},
                             "gender": "m"}}}


def user(world, item, base: str, with_: frozenset = frozenset()) -> dict:
    """A user with rights; with_ may hold role and group."""
    view = item.leads_view
    full = "A" if item.is_admin else view
    rights = {"leads": {"view": view, "edit": full, "add": "A", "delete": "A" if item.is_admin else "D",
                        "export": "A" if item.is_admin else "M"},
              "contacts": {"view": view, "edit": full, "add": "A", "delete": "M", "export": "D"},
              "companies": {"view": view, "edit": full, "add": "A", "delete": "D", "export": "D"},
              "tasks": {"edit": full, "delete": full},
              "mail_access": item.is_admin, "catalog_access": item.is_admin,
              "status_rights": None if item.is_admin else status_rights(world, view, item.hidden_stages),
              "is_admin": item.is_admin, "is_free": False, "is_active": item.is_active,
              "group_id": item.group_id or None, "role_id": item.role_id}
    out = {"id": item.id, "name": item.name, "email": item.email, "lang": item.lang, "rights": rights,
           "_links": link(f"{base}/api/v4/users/{item.id}")}
    emb = {}
    if "role" in with_:
        emb["roles"] = [] if item.role_id is None else [
            {"id": item.role_id, "name": "Менеджер", "_links": link(f"{base}/api/v4/roles/{item.role_id}")}]
    if "group" in with_:
        names = dict(world.groups)
        emb["groups"] = [] if not item.group_id else [{"id": item.group_id, "name": names.get(item.group_id, "")}]
    if emb:
        out["_embedded"] = emb
    return out


def status_rights(world, view: str, hidden=()) -> list:
    """Per-status rights of a non-admin: working stages with the user's view right, and "D" where the stage is
    hidden from them (real/api11: a user with leads.view A who may not see a stage's deals)."""
    hidden = {tuple(x) for x in hidden}
    shown = [{"entity_type": "leads", "pipeline_id": p.id, "status_id": s.id,
              "rights": {"view": view, "edit": view, "delete": "D"}}
             for p in world.pipelines.values() for s in p.statuses
             if s.type == 0 and s.id not in (142, 143) and (p.id, s.id) not in hidden][:4]
    return shown + [{"entity_type": "leads", "pipeline_id": p, "status_id": s,
                     "rights": {"view": "D", "edit": "D", "delete": "D"}} for p, s in sorted(hidden)]


def unsorted(world, item, base: str) -> dict:
    """An incoming request; metadata depends on the category (sip as in the docs example)."""
    return {"uid": item.uid, "source_uid": None, "source_name": item.source_name, "category": item.category,
            "pipeline_id": item.pipeline_id, "created_at": item.created_at,
            "metadata": unsorted_metadata(item), "account_id": world.account["id"],
            "_links": link(f"{base}/api/v4/leads/unsorted/{item.uid}"),
            "_embedded": {"contacts": [{"id": item.contact_id, "_links": link(f"{base}/api/v4/contacts/{item.contact_id}")}],
                          "leads": [{"id": item.lead_id, "_links": link(f"{base}/api/v4/leads/{item.lead_id}")}],
                          "companies": []}}


def unsorted_metadata(item) -> dict:
    """Category-specific metadata (sip follows the docs sample; the others follow the docs tables)."""
    if item.category == "sip":
        digits = "".join(ch for ch in item.phone if ch.isdigit()) or "0"
        return {"from": digits, "phone": int(digits), "called_at": item.created_at - item.duration,
                "duration": str(item.duration), "link": None, "service_code": "sandbox_pbx"}
    if item.category == "forms":
        return {"form_id": "1", "form_name": item.source_name, "form_page": "https://example.com",
                "ip": "127.0.0.1", "form_sent_at": item.created_at, "referer": "https://example.com",
                "visitor_uid": item.uid[:36]}
    if item.category == "mail":
        return {"from": {"email": "client@example.com", "name": "Client"}, "to": {"email": "sales@example.com",
                "name": "Sales"}, "subject": "Заявка", "received_at": item.created_at, "thread_id": 1,
                "message_id": 1, "content_summary": "Заявка"}
    return {"from": item.phone, "service_id": "sandbox", "client": {"name": "Client", "avatar": None},
            "origin": item.source_name, "last_message_text": "Здравствуйте", "source_name": item.source_name}


def hook(world, item) -> dict:
    """A webhook subscription (GET /api/v4/webhooks has no per-item _links)."""
    return {"id": item.id, "destination": item.destination, "created_at": item.created_at,
            "updated_at": item.updated_at, "account_id": world.account["id"], "created_by": item.created_by,
            "sort": item.sort, "disabled": item.disabled, "settings": list(item.settings)}
