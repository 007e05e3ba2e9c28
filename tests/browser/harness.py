"""The amoCRM stand-in page lives in the service (`service/preview`): `make run` serves it as the preview.

The browser tests serve the same page as a separate app on the account's own origin (so CORS is real), for every
area the manifest gives the widget (lcard, the Stats pages of widget_page, advanced_settings), as any user
(`?user=`, `?admin=1`). The page reads the built manifest.json; a test may hand it another (`app.manifest`) to
see a misplaced block fail. Nothing is added that amoCRM's docs do not describe.
"""
from __future__ import annotations

from flask import Flask, abort, jsonify, request

from service.config import Settings
from service.model import Account
from service.preview import (AREAS, add_assets, create_harness, harness_config, menu_of, render_harness,  # noqa: F401
                             widget_token)


def create_test_harness(settings: Settings, account: Account, api_base: str, user_id: int = 1001) -> Flask:
    """The page for tests: `/?area=&lead=&lang=&user=&admin=&item=&sub=`; `account.base_url` must be its origin."""
    app = Flask(__name__)
    app.manifest = None  # None: the built manifest.json

    @app.get("/")
    def page():
        area = request.args.get("area", "lcard")
        if area not in AREAS:
            abort(404)
        user = request.args.get("user", user_id, type=int)
        admin = request.args.get("admin") == "1"
        config = harness_config(account, area=area, lead_id=request.args.get("lead", 0, type=int),
                                lang=request.args.get("lang", "ru"), user_id=user, menu=menu_of(request.args),
                                token_query=f"?user={user}&admin={int(admin)}", manifest=app.manifest,
                                page_query=f"&user={user}&admin={int(admin)}")
        return render_harness(config)

    @app.get("/token")
    def token():
        return jsonify(token=widget_token(settings, account, request.args.get("user", user_id, type=int),
                                          is_admin=request.args.get("admin") == "1"))

    add_assets(app, lambda: api_base)  # jQuery and the widget's files, as the preview serves them

    return app
