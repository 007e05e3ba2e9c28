"""Install and uninstall edges: the OAuth redirect URI, the disable hook, and our own install page."""
from __future__ import annotations

from html import escape

from flask import Blueprint, Response, jsonify, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields

from service.services import accounts
from service import errors
from service.web import deps, flood

bp = Blueprint("oauth", __name__)


class CallbackArgs(Schema):
    """The redirect URI's query (FACTS §1); unknown keys such as `platform` are ignored."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True)
    referer = fields.String(required=True)
    state = fields.String(load_default=None)
    client_id = fields.String(load_default=None)
    from_widget = fields.String(load_default="")


class DisableArgs(Schema):
    """The disable hook's query: docs name the integration `client_uuid`, and also `client_id`."""

    class Meta:
        unknown = EXCLUDE

    account_id = fields.Integer(required=True)
    client_uuid = fields.String(load_default=None)
    client_id = fields.String(load_default=None)
    signature = fields.String(required=True)


@bp.get("/oauth/callback")
def callback():
    """Answer amoCRM at once; the code is exchanged by a job."""
    flood.limit("callback")
    if request.args.get("error"):
        return _page(CANCELLED, status=200)
    args = _load(CallbackArgs(), request.args)
    accounts.accept_install(deps(), accounts.InstallCall(
        code=args["code"], referer=args["referer"], state=args["state"], client_id=args["client_id"],
        from_widget=args["from_widget"] == "1"))
    return _page(ACCEPTED)


@bp.get("/oauth/disable")
def disable():
    """amoCRM's disable hook: verify its signature; a job confirms with amoCRM, then deletes the account."""
    args = _load(DisableArgs(), request.args)
    client_id = args["client_uuid"] or args["client_id"]
    if not client_id:
        raise errors.BadRequest("client_uuid (or client_id) is required")
    return jsonify(accounts.disable(deps(), args["account_id"], client_id, args["signature"])), 202


@bp.get("/install")
def install():
    """Our own install page: links to amoCRM's consent screen carrying a CSRF `state`."""
    flood.limit("install")
    links = accounts.install_links(deps())
    buttons = "".join(f'<p><a class="button" href="{escape(url)}">{escape(LABELS.get(name, name))}</a></p>'
                      for name, url in links.items())
    return _page(INSTALL + buttons)


def _load(schema: Schema, args) -> dict:
    """Validate a query or answer 400 naming the fields."""
    try:
        return schema.load(args.to_dict())
    except ValidationError as exc:
        raise errors.BadRequest("invalid query: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in
                                                             exc.messages.items())) from None


def _page(body: str, status: int = 200) -> Response:
    """A minimal bilingual HTML page."""
    return Response(PAGE.format(body=body), status=status, mimetype="text/html")


LABELS = {"amocrm": "Установить в amoCRM (amocrm.ru)", "kommo": "Install in Kommo (kommo.com)",
          "sandbox": "Установить в песочницу / Install into the sandbox"}
PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Deal Pulse</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}}
.button{{display:inline-block;padding:.6em 1.2em;background:#2b6cb0;color:#fff;border-radius:6px;
text-decoration:none}} hr{{border:0;border-top:1px solid #ddd;margin:2em 0}}</style></head><body>{body}</body></html>"""
ACCEPTED = """<h1>Deal Pulse подключается</h1>
<p>Мы получили доступ и загружаем историю продаж вашего аккаунта: воронки, сотрудников, сделки за последний год,
задачи, звонки и движение по этапам. Мы соблюдаем лимит amoCRM (не больше 7 запросов в секунду), поэтому
в большом аккаунте это займёт от нескольких минут до часа. Прогресс виден на панели руководителя.</p>
<p>Подсказки в карточках сделок появятся, как только загрузка закончится; дальше они обновляются сами
по вебхукам. Эту страницу можно закрыть.</p><hr>
<h1>Deal Pulse is connecting</h1>
<p>We have been granted access and are loading your account's sales history: pipelines, users, the last year's
deals, tasks, calls and stage moves. We stay within amoCRM's limit (7 requests per second), so a large account
takes from a few minutes to an hour. The supervisor panel shows the progress.</p>
<p>Hints appear in deal cards as soon as loading finishes, and keep themselves up to date from webhooks.
You can close this page.</p>"""
CANCELLED = """<h1>Установка отменена</h1><p>Доступ не был предоставлен. Чтобы подключить Deal Pulse,
начните установку снова.</p><hr><h1>Installation cancelled</h1><p>Access was not granted. Start the
installation again to connect Deal Pulse.</p>"""
INSTALL = """<h1>Подключить Deal Pulse</h1><p>Deal Pulse показывает прямо в карточке сделки, что требует внимания:
сделка зависла на этапе, нет задачи, задача просрочена. Нажмите кнопку, войдите в amoCRM и разрешите доступ.</p>
<hr><h1>Connect Deal Pulse</h1><p>Deal Pulse shows, inside each deal card, what needs attention now: a deal stuck in
its stage, no open task, an overdue task. Press the button, sign in to amoCRM and grant access.</p>"""
