"""The amoCRM stand-in page lives in the service now (`service/preview`): `make run` serves it as the preview.

The browser tests serve the same page as a separate app on the account's own origin (so CORS is real), for every
area the widget uses (lcard, llist, advanced_settings), as any user (`?user=`, `?admin=1`), with amoCRM's card
socket played by `window.harnessPush(channel)`.
"""
from __future__ import annotations

import xstatic.pkg.jquery as jquery
from flask import Flask, Response, abort, jsonify, request, send_from_directory

from service import widget_package
from service.config import Settings
from service.model import Account
from service.preview import create_harness, harness_config, render_harness, widget_token  # noqa: F401

TEST_AREAS = ("lcard", "llist", "advanced_settings")
SDK_MARKER = "var widget = new Sdk();"
# amoCRM's listenSocketChannel (FACTS §3): the harness records subscriptions; a test pushes a change.
SOCKET = """
    window.HARNESS_SOCKETS = [];
    Sdk.prototype.listenSocketChannel = function (channel, keys, callback) {
      var entry = {channel: channel, keys: keys, callback: callback};
      window.HARNESS_SOCKETS.push(entry);
      return function () { window.HARNESS_SOCKETS.splice(window.HARNESS_SOCKETS.indexOf(entry), 1); };
    };
    window.harnessPush = function (channel, message) {
      window.HARNESS_SOCKETS.forEach(function (s) { if (s.channel === channel) { s.callback(message || {}); } });
      return window.HARNESS_SOCKETS.length;
    };
"""


def create_test_harness(settings: Settings, account: Account, api_base: str, user_id: int = 1001) -> Flask:
    """The page for tests: `/?area=&lead=&lang=&user=&admin=`; `account.base_url` must be this app's origin."""
    app = Flask(__name__)

    @app.get("/")
    def page():
        area = request.args.get("area", "lcard")
        if area not in TEST_AREAS:
            abort(404)
        user = request.args.get("user", user_id, type=int)
        admin = request.args.get("admin") == "1"
        config = harness_config(account, area=area, lead_id=request.args.get("lead", 0, type=int),
                                lang=request.args.get("lang", "ru"), user_id=user,
                                token_query=f"?user={user}&admin={int(admin)}")
        html = render_harness(config)
        assert SDK_MARKER in html, "service/preview/harness.html changed: update the socket injection"
        html = html.replace("</style>", "  body.llist .work-area { display: none; }\n  </style>", 1)
        return html.replace(SDK_MARKER, SOCKET + "    " + SDK_MARKER)

    @app.get("/token")
    def token():
        return jsonify(token=widget_token(settings, account, request.args.get("user", user_id, type=int),
                                          is_admin=request.args.get("admin") == "1"))

    @app.get("/jquery.js")
    def jquery_js():
        return send_from_directory(jquery.BASE_DIR, "jquery.min.js")

    @app.get("/widget/script.js")
    def script():
        return Response(widget_package.widget_script(api_base), mimetype="text/javascript")

    return app
