"""A page that stands in for amoCRM around the real widget/script.js: AMD, jQuery, APP, the SDK object."""
from __future__ import annotations

import json
from pathlib import Path

import xstatic.pkg.jquery as jquery
from flask import Flask, Response, jsonify, render_template_string, request, send_from_directory

from service import widget_package
from service.config import Settings
from service.model import Account
from tests.support.tokens import mint_token

HERE = Path(__file__).resolve().parent


def create_harness(settings: Settings, account: Account, api_base: str, user_id: int = 1001) -> Flask:
    """The harness app; `account.base_url` must be this app's own origin (it plays amoCRM's page)."""
    app = Flask(__name__)

    @app.get("/")
    def card():
        lang = request.args.get("lang", "ru")
        config = {"lang": lang, "lead_id": int(request.args.get("lead", 0)), "area": "lcard",
                  "version": widget_package.version(),
                  "account": {"id": account.id, "subdomain": account.subdomain},
                  "user": {"id": user_id}, "i18n": _i18n(lang)}
        return render_template_string((HERE / "harness.html").read_text(), config=config, lang=lang)

    @app.get("/jquery.js")
    def jquery_js():
        return send_from_directory(jquery.BASE_DIR, "jquery.min.js")

    @app.get("/widget/script.js")
    def script():
        return Response(widget_package.widget_script(api_base), mimetype="text/javascript")

    @app.get("/token")
    def token():
        return jsonify(token=mint_token(settings, account, user_id))

    return app


def _i18n(lang: str) -> dict:
    return json.loads((widget_package.WIDGET_DIR / "i18n" / f"{lang}.json").read_text())
