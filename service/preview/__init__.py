"""Previews of the widget outside amoCRM: a page that plays amoCRM around the real widget (script.js and its modules).

The web app serves it under /preview in the demo only (it mints widget tokens for anyone: only with the public
development secret, issue 16); the browser tests run the same page as a separate app on the account's own origin.
"""
from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jwt
import xstatic.pkg.jquery as jquery
from flask import Blueprint, Flask, Response, abort, jsonify, redirect, render_template_string, request, \
    send_from_directory, url_for

from service.ops import widget_package
from service.config import Settings
from service.model import Account
from service.preview.deals import admin_user, deals_with_hints

HERE = Path(__file__).resolve().parent
WIDGET_CODE = "deal_pulse"
LANGUAGES = ("ru", "en")
AREAS = {"lcard": "deal card", "widget_page": "Stats page", "advanced_settings": "plans and settings"}
ATTENTION, PANEL = ("stats", "deal_pulse_attention"), ("stats", "deal_pulse_panel")  # manifest.json left_menu


def widget_token(settings: Settings, account: Account, user_id: int, is_admin: bool = False,
                 now: float | None = None, *, secret: str | None = None, **overrides) -> str:
    """A one-time widget token with the claims amoCRM's `$authorizedAjax` sends (FACTS §2); a claim set to None
    in `overrides` is left out (tests forge broken tokens this way)."""
    now = int(time.time() if now is None else now)
    claims = {"iss": account.origin, "aud": settings.token_audience, "jti": str(uuid.uuid4()), "iat": now,
              "nbf": now, "exp": now + 1800, "account_id": account.id, "user_id": user_id,
              "subdomain": account.subdomain, "client_uuid": settings.client_id, "is_admin": is_admin, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret or settings.client_secret, algorithm="HS256")


def harness_config(account: Account, *, area: str = "lcard", lead_id: int = 0, lang: str = "ru",
                   user_id: int = 1001, base: str = "", token_query: str = "", picker=(),
                   account_param: bool = False, menu: tuple = ATTENTION, manifest: dict | None = None,
                   page_query: str = "", menu_base: str = "") -> dict:
    """Everything the page puts in `HARNESS` and in amoCRM's `APP` for the widget; which areas exist and where
    they render is read from the built manifest.json (or the one given)."""
    lang = lang if lang in LANGUAGES else "ru"
    return {"lang": lang, "lead_id": lead_id, "area": area, "title": AREAS.get(area, area),
            "manifest": manifest if manifest is not None else widget_package.manifest(),
            "menu_item": menu[0], "menu_sub": menu[1], "page_query": page_query, "menu_base": menu_base,
            "version": widget_package.version(), "widget_code": WIDGET_CODE,
            "account": {"id": account.id, "subdomain": account.subdomain}, "user": {"id": user_id},
            "i18n": _i18n(lang), "base": base, "token_query": token_query, "picker": list(picker),
            "picker_label": "Сделка с подсказками:" if lang == "ru" else "Deal with hints:",
            "languages": [x for x in LANGUAGES if x != lang], "account_param": account_param}


def render_harness(config: dict) -> str:
    """The page."""
    return render_template_string((HERE / "harness.html").read_text(), config=config)


def _i18n(lang: str) -> dict:
    return json.loads((widget_package.WIDGET_DIR / "i18n" / f"{lang}.json").read_text())


def add_assets(target, api_base) -> None:
    """jQuery (amoCRM pages provide it) and the widget's files as widget.zip holds them, under /widget/: script.js
    and its modules with our API URL, i18n/, images/."""
    target.add_url_rule("/jquery.js", "jquery", lambda: send_from_directory(jquery.BASE_DIR, "jquery.min.js"))
    target.add_url_rule("/widget/<path:name>", "widget_file", lambda name: _widget_file(name, api_base))


def _widget_file(name: str, api_base):
    if name in widget_package.scripts():
        return Response(widget_package.widget_file(name, api_base()), mimetype="text/javascript")
    if name.split("/")[0] in widget_package.PACKED_DIRS:
        return send_from_directory(widget_package.WIDGET_DIR, name)
    abort(404)


def create_harness(settings: Settings, account: Account, api_base: str, user_id: int = 1001,
                   is_admin: bool = False) -> Flask:
    """A standalone amoCRM page (browser tests); `account.base_url` must be this app's own origin."""
    app = Flask(__name__)

    @app.get("/")
    def card():
        area = request.args.get("area", "lcard")
        return render_harness(harness_config(account, area=area if area in AREAS else "lcard",
                                             lead_id=int(request.args.get("lead", 0)),
                                             lang=request.args.get("lang", "ru"), user_id=user_id,
                                             menu=menu_of(request.args)))

    @app.get("/token")
    def token():
        return jsonify(token=widget_token(settings, account, user_id, is_admin=is_admin))

    add_assets(app, lambda: api_base)
    return app


# --- the web app's /preview (the demo only)
bp = Blueprint("preview", __name__, url_prefix="/preview")
add_assets(bp, lambda: request.url_root)  # same origin as the page: no CORS in the preview


def _deps():
    from service.web import deps
    return deps()


def _account() -> Account | None:
    """The account asked for, else the first installed one."""
    store = _deps().store
    wanted = request.args.get("account", type=int)
    ids = [wanted] if wanted else store.account_ids()[:1]
    return store.get_account(ids[0]) if ids else None


@bp.get("/")
def index():
    return redirect(url_for("preview.card", **request.args))


@bp.get("/card")
def card():
    """A deal card with the widget's panel, and a picker of the deals that have hints."""
    account = _account()
    if account is None:
        return Response(NO_ACCOUNT, status=404, mimetype="text/html")
    deals = deals_with_hints(_deps().store, account.id)
    lead_id = request.args.get("lead", type=int) or (deals[0]["id"] if deals else 0)
    user = next((d["user_id"] for d in deals if d["id"] == lead_id), 0) or admin_user(_deps().store, account.id)
    config = harness_config(account, area="lcard", lead_id=lead_id, lang=request.args.get("lang", "ru"),
                            user_id=user, base=bp.url_prefix, picker=deals, account_param="account" in request.args,
                            token_query=f"?account={account.id}&user={user}", menu_base=f"{bp.url_prefix}/page")
    return render_harness(config)


def menu_of(args) -> tuple:
    """The left-menu item a page URL names (`?item=stats&sub=...`), the attention page by default."""
    return args.get("item", ATTENTION[0]), args.get("sub", ATTENTION[1])


def _admin_page(area: str, menu: tuple = ATTENTION):
    """A page of the widget's own (Stats subsection or advanced_settings) as the account's admin sees it."""
    account = _account()
    if account is None:
        return Response(NO_ACCOUNT, status=404, mimetype="text/html")
    user = admin_user(_deps().store, account.id)
    config = harness_config(account, area=area, lang=request.args.get("lang", "ru"), user_id=user,
                            base=bp.url_prefix, token_query=f"?account={account.id}&user={user}&admin=1", menu=menu,
                            page_query=f"&account={account.id}" if "account" in request.args else "",
                            menu_base=f"{bp.url_prefix}/page")
    return render_harness(config)


@bp.get("/panel")
def panel():
    """The supervisor panel: Stats → Deal Pulse: supervisor panel (the widget's left-menu page), as an admin."""
    return _admin_page("widget_page", PANEL)


@bp.get("/attention")
def attention():
    """Stats → Deal Pulse: deals that need attention, as an admin (any deal they may see)."""
    return _admin_page("widget_page", ATTENTION)


@bp.get("/settings")
def settings_page():
    """The widget's advanced_settings page (plans, thresholds, supervisors), as an admin."""
    return _admin_page("advanced_settings")


@bp.get("/page")
def menu_page():
    """Whatever left-menu item the page's own menu links to (`?item=&sub=`)."""
    return _admin_page("widget_page", menu_of(request.args))


@bp.get("/token")
def token():
    """What amoCRM does for `$authorizedAjax`: a fresh one-time token for this account and user."""
    account = _account()
    if account is None:
        abort(404)
    return jsonify(token=widget_token(_deps().settings, account, request.args.get("user", 0, type=int),
                                      is_admin=request.args.get("admin") == "1"))


NO_ACCOUNT = """<!doctype html><meta charset="utf-8"><title>Deal Pulse preview</title>
<p>No account is installed yet. <code>make run</code> installs the sandbox account by itself; otherwise install one
through <a href="/install">/install</a>.</p><p>Ни один аккаунт ещё не установлен.</p>"""
