"""OAuth 2.0 as amoCRM runs it: codes, single-use refresh tokens, install redirect, disable hook."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import uuid
from urllib.parse import urlencode

import requests
from flask import Blueprint, current_app, jsonify, redirect, request

PROBLEM_TYPE = "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
bp = Blueprint("sandbox_oauth", __name__)


class OAuthError(Exception):
    """A token-endpoint failure, rendered the way amoCRM renders it."""

    def __init__(self, status: int, hint: str):
        super().__init__(hint)
        self.status, self.hint = status, hint

    def body(self) -> dict:
        """amoCRM's OAuthProblemJson body (shape seen in client code and bug reports)."""
        title = "Некорректный запрос" if self.status == 400 else "Unauthorized"
        return {"hint": self.hint, "title": title, "type": PROBLEM_TYPE, "status": self.status,
                "detail": "В запросе отсутствует ряд параметров или параметры невалидны"}


class Tokens:
    """Issued codes and tokens of the one integration the sandbox knows."""

    def __init__(self, world):
        self.world = world
        self.lock = threading.Lock()
        self.codes: dict[str, list] = {}  # code -> [expires_at, used]
        self.access: dict[str, int] = {}  # token -> expires_at
        self.refresh: dict[str, list] = {}  # token -> [expires_at, used]

    @property
    def conf(self) -> dict:
        """The oauth part of the sandbox settings."""
        return self.world.settings["oauth"]

    def issue_code(self) -> str:
        """A fresh authorization code (20 min by default)."""
        code = "def50200" + secrets.token_hex(64)
        with self.lock:
            self.codes[code] = [self.world.now() + self.conf["code_ttl"], False]
        return code

    def grant(self, body: dict) -> dict:
        """Handle a POST /oauth2/access_token body; raises OAuthError."""
        self.check_client(body)
        kind = body.get("grant_type")
        if kind == "authorization_code":
            return self.exchange_code(str(body.get("code") or ""))
        if kind == "refresh_token":
            return self.use_refresh(str(body.get("refresh_token") or ""))
        raise OAuthError(400, "The authorization grant type is not supported by the authorization server.")

    def check_client(self, body: dict) -> None:
        """Client id/secret must match; redirect_uri must equal the integration's exactly."""
        if body.get("client_id") != self.conf["client_id"]:
            raise OAuthError(401, "Client authentication failed")
        if not hmac.compare_digest(str(body.get("client_secret", "")), self.conf["client_secret"]):
            raise OAuthError(401, "Client authentication failed")
        if body.get("redirect_uri") != self.conf["redirect_uri"]:
            raise OAuthError(400, "Check the `redirect_uri` parameter")

    def exchange_code(self, code: str) -> dict:
        """Authorization code grant: single use, 20 minutes."""
        with self.lock:
            entry = self.codes.get(code)
            if entry is None:
                raise OAuthError(400, "Cannot decrypt the authorization code")
            if entry[1]:
                raise OAuthError(400, "Authorization code has been revoked")
            if entry[0] < self.world.now():
                raise OAuthError(400, "Authorization code has expired")
            entry[1] = True
            return self.new_pair()

    def use_refresh(self, token: str) -> dict:
        """Refresh grant: every refresh token works once; the new pair replaces it."""
        with self.lock:
            entry = self.refresh.get(token)
            if entry is None:
                raise OAuthError(400, "Cannot decrypt the refresh token")
            if entry[1]:
                raise OAuthError(400, "Token has been revoked")
            if entry[0] < self.world.now():
                raise OAuthError(400, "Token has expired")
            entry[1] = True
            return self.new_pair()

    def new_pair(self) -> dict:
        """Mint an access/refresh pair (caller holds the lock)."""
        now, ttl = self.world.now(), int(self.conf["access_token_ttl"])
        access, refresh = secrets.token_urlsafe(48), "def50200" + secrets.token_hex(96)
        self.access[access] = now + ttl
        self.refresh[refresh] = [now + int(self.conf["refresh_token_ttl"]), False]
        return {"token_type": "Bearer", "expires_in": ttl, "server_time": now,
                "access_token": access, "refresh_token": refresh}

    def valid_access(self, token: str) -> bool:
        """True when the bearer token was issued and has not expired or been revoked."""
        expires = self.access.get(token)
        return expires is not None and expires > self.world.now()

    def refresh_alive(self, token: str) -> bool:
        """True for an unused, unexpired refresh token."""
        entry = self.refresh.get(token)
        return bool(entry) and not entry[1] and entry[0] > self.world.now()

    def revoke_all(self) -> None:
        """What disabling the integration does: every token stops working."""
        with self.lock:
            self.access.clear()
            for entry in self.refresh.values():
                entry[1] = True

    def add_access_token(self, token: str, ttl: int | None = None) -> None:
        """Register a known access token (tests and demos skip the OAuth dance)."""
        self.access[token] = self.world.now() + int(ttl or self.conf["access_token_ttl"])


def tokens() -> Tokens:
    """The app's token store."""
    return current_app.config["SANDBOX_TOKENS"]


@bp.post("/oauth2/access_token")
def access_token():
    """Token endpoint (JSON body as amoCRM documents; form bodies are accepted too)."""
    body = request.get_json(silent=True) or request.form.to_dict()
    try:
        return jsonify(tokens().grant(body))
    except OAuthError as err:
        return jsonify(err.body()), err.status


@bp.get("/oauth2/account/current/subdomain")
def subdomain_by_refresh_token():
    """Which account a refresh token belongs to (header X-Refresh-Token)."""
    if not tokens().refresh_alive(request.headers.get("X-Refresh-Token", "")):
        return jsonify(OAuthError(401, "Invalid refresh token").body()), 401
    acc = tokens().world.account
    return jsonify({"id": acc["id"], "subdomain": acc["subdomain"], "domain": f"{acc['subdomain']}.amocrm.ru",
                    "top_level_domain": "ru"})


@bp.get("/oauth")
def authorize():
    """The consent page, auto-approved: redirect to the integration with a fresh code."""
    conf = tokens().conf
    if request.args.get("client_id") != conf["client_id"]:
        return jsonify({"error": "unknown client_id"}), 400
    return redirect(install_url(request.args.get("state"), from_widget=False))


def referer() -> str:
    """The account host handed to the redirect URI (the sandbox's own host by default)."""
    return tokens().conf.get("referer") or request.host


def install_url(state: str | None, from_widget: bool = True) -> str:
    """The redirect URI with the query amoCRM sends on install."""
    conf = tokens().conf
    query = {"code": tokens().issue_code(), "referer": referer(), "platform": conf.get("platform", 1),
             "client_id": conf["client_id"]}
    if state:
        query["state"] = state
    if from_widget:
        query["from_widget"] = 1
    sep = "&" if "?" in conf["redirect_uri"] else "?"
    return conf["redirect_uri"] + sep + urlencode(query)


def start_install(state: str | None = None) -> dict:
    """Call the redirect URI as a widget install does: 3 s, status ignored, never resent."""
    url = install_url(state)
    try:
        status = requests.get(url, timeout=3, allow_redirects=False).status_code
    except requests.RequestException as err:
        status = f"error: {type(err).__name__}"
    code = url.split("code=", 1)[1].split("&", 1)[0]
    return {"url": url, "code": code, "status": status}


def disable_signature(client_id: str, client_secret: str, account_id: int) -> str:
    """hex(HMAC_SHA256(key=client_secret, msg=f"{client_id}|{account_id}"))."""
    msg = f"{client_id}|{account_id}".encode()
    return hmac.new(client_secret.encode(), msg, hashlib.sha256).hexdigest()


def fire_disable_hook(url: str | None = None) -> dict:
    """Disable the integration: revoke tokens and GET the disable hook (if one is set)."""
    store = tokens()
    conf, account_id = store.conf, store.world.account["id"]
    store.revoke_all()
    url = url or conf.get("disable_hook_url")
    if not url:
        return {"status": None, "url": None}
    query = {"account_id": account_id, "client_uuid": conf["client_id"],
             "signature": disable_signature(conf["client_id"], conf["client_secret"], account_id)}
    full = url + ("&" if "?" in url else "?") + urlencode(query)
    try:
        status = requests.get(full, timeout=3).status_code
    except requests.RequestException as err:
        status = f"error: {type(err).__name__}"
    return {"status": status, "url": full}


def b64url(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def disposable_token(audience: str, user_id: int, ttl: int = 1800) -> str:
    """A widget one-time token: JWT HS256 signed with the client secret (claims as in the docs)."""
    store = tokens()
    acc, now = store.world.account, store.world.now()
    claims = {"iss": f"https://{acc['subdomain']}.amocrm.ru", "aud": audience, "jti": str(uuid.uuid4()),
              "iat": now, "nbf": now, "exp": now + ttl, "account_id": acc["id"], "user_id": user_id,
              "subdomain": acc["subdomain"], "client_uuid": store.conf["client_id"]}
    head = b64url(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    body = b64url(json.dumps(claims).encode())
    sig = hmac.new(store.conf["client_secret"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64url(sig)}"
