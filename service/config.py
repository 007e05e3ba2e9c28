"""Settings.from_env(): the only reader of os.environ."""
from __future__ import annotations

import os
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

DEV_SECRET_KEY = "dev-secret-key-change-me-in-production"
DEV_CLIENT_ID = "00000000-0000-4000-8000-000000000000"
DEV_CLIENT_SECRET = "dev-client-secret-change-me-in-production"
# issue 16: exact names only. `demo` is what `make run` gives its processes when no integration is configured.
ENVIRONMENTS = ("development", "demo", "production")


class ConfigError(RuntimeError):
    """The environment does not describe a service that may start."""


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with development defaults."""

    env: str = "development"
    port: int = 5000
    redis_url: str = ""  # empty: start the embedded redis-server
    redis_cluster_url: str = ""  # any node of a Redis Cluster holding account data (empty: all on REDIS_URL)
    intake_wait_replicas: int = 1  # on a cluster: replicas that must hold a webhook before its 2xx (0: none)
    intake_wait_ms: int = 500  # on a cluster: how long a webhook waits for them (amoCRM gives us 2 s), then 503
    secret_key: str = DEV_SECRET_KEY
    client_id: str = DEV_CLIENT_ID
    client_secret: str = DEV_CLIENT_SECRET
    public_url: str = ""  # empty: http://127.0.0.1:<port>
    max_webhook_bytes: int = 1_000_000
    stuck_default_days: float = 14.0
    worker_seen_seconds: int = 60
    token_leeway_seconds: int = 120
    log_level: str = "INFO"
    drain_lease_seconds: int = 10  # a dead worker's claim on an inbox expires after this
    # issue 4: install, tokens and sync
    amocrm_redirect_uri: str = ""  # empty: <base_url>/oauth/callback; must equal the integration's setting
    token_encryption_keys: str = ""  # comma-separated Fernet keys: the first encrypts, all decrypt
    amocrm_api_base: str = ""  # sandbox/tests: replaces every account host; unset in production
    amocrm_rps: float = 7.0  # per account: requests spaced 1/rps apart, never more than ceil(rps) in any second
                             # as amoCRM counts them (amoCRM allows 7)
    amocrm_global_rps: float = 50.0  # requests per second over all accounts of this deployment
    sync_page_limit: int = 250  # items per list page (events are capped at 100)
    sync_history_days: int = 365  # closed deals, events and calls younger than this are synced
    reconcile_minutes: int = 30  # incremental sync period
    api_user_rps: int = 20  # issue 7: widget API requests per second per (account, user)
    # issue 8: processes, operations and the demo
    bind_host: str = ""  # web listens here; empty: 0.0.0.0 in production, else 127.0.0.1 (issue 16)
    web_concurrency: int = 2  # gunicorn worker processes
    web_threads: int = 4  # threads per gunicorn worker
    shutdown_seconds: int = 20  # SIGTERM: web requests and a running job get this long to finish
    log_format: str = "json"  # json (one object per line) | text
    metrics_token: str = ""  # bearer token for /metrics; required in production (unset: loopback callers only)
    demo_size: str = "medium"  # `make run` demo: the sandbox account size (small | medium | large)
    demo_rps: float = 50.0  # `make run` demo: the sandbox's rate limit and ours (amoCRM's real limit is 7)
    demo_events_per_second: float = 2.0  # `make run` demo: the sandbox's live simulator
    # issue 16: anonymous install edges and the client address
    oauth_rate_per_minute: int = 30  # /oauth/callback and /install requests per client address per minute (each)
    oauth_rate_clients: int = 2000  # distinct addresses counted per minute (each): bounds Redis keys under a flood
    forwarded_hops: int = 0  # trusted proxies in front of the web process that append to X-Forwarded-For
    # issue 16: one account's webhooks may not flood the intake (answered 503 + Retry-After beyond these)
    intake_account_rps: int = 200  # deliveries stored per second per account (0: no limit)
    inbox_max_entries: int = 50_000  # unapplied deliveries held per account (0: no limit)
    # issue 18: the widget package's support contact (manifest `widget.support`), shown on the widget's page
    support_url: str = ""
    support_email: str = ""

    @classmethod
    def from_env(cls, environ=None) -> "Settings":
        """Read every setting from the environment; validate production mode."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(ENV_NAMES[f.name])
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw, type(f.default))
        settings = cls(**values)
        settings.check_environment()
        if settings.env == "production":
            settings.check_production()
        return settings

    def check_environment(self) -> None:
        """An unknown environment name would run with no production checks: refuse it (issue 16)."""
        if self.env not in ENVIRONMENTS:
            raise ConfigError(f"DEAL_PULSE_ENV={self.env!r} is not one of {', '.join(ENVIRONMENTS)} (exactly, in "
                              "lower case); refusing to start")
        if self.env == "demo" and (self.client_id, self.client_secret) != (DEV_CLIENT_ID, DEV_CLIENT_SECRET):
            raise ConfigError("DEAL_PULSE_ENV=demo is `make run` without an amoCRM integration: unset "
                              "AMOCRM_CLIENT_ID and AMOCRM_CLIENT_SECRET, or use development or production")

    @property
    def is_demo(self) -> bool:
        """No amoCRM integration configured: `make run` serves the sandbox account (decided here, once)."""
        return self.env != "production" and self.client_id == DEV_CLIENT_ID and not self.amocrm_api_base

    @property
    def serves_preview(self) -> bool:
        """The card and panel previews mint widget tokens for anyone: only in the demo, whose client secret is the
        public development one (issue 16: not with real credentials, not in production)."""
        return self.env == "demo" and self.client_secret == DEV_CLIENT_SECRET

    @property
    def web_bind_host(self) -> str:
        """Where the web process listens: the platform's 0.0.0.0 in production, loopback elsewhere unless told."""
        return self.bind_host or ("0.0.0.0" if self.env == "production" else "127.0.0.1")

    @property
    def base_url(self) -> str:
        """Our public scheme+host, as amoCRM and widget tokens (`aud`) see it."""
        return (self.public_url or f"http://127.0.0.1:{self.port}").rstrip("/")

    @property
    def token_audience(self) -> str:
        """The `aud` claim amoCRM puts in widget tokens: the scheme and host of the integration's redirect URI (the
        official PHP client compares with that, not with PUBLIC_URL, and the two may differ)."""
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def token_audiences(self) -> tuple[str, ...]:
        """Every `aud` we accept: the redirect URI's scheme+host, also without its port when it names one (whether
        amoCRM keeps the port in `aud` is not documented)."""
        parts = urlsplit(self.redirect_uri)
        bare = f"{parts.scheme}://{parts.hostname}" if parts.port is not None else None
        return tuple(dict.fromkeys(filter(None, (self.token_audience, bare))))

    def check_production(self) -> None:
        """Refuse development defaults, weak secrets and plain-http public URLs."""
        problems = []
        for name, default in (("secret_key", DEV_SECRET_KEY), ("client_id", DEV_CLIENT_ID),
                              ("client_secret", DEV_CLIENT_SECRET)):
            if getattr(self, name) == default:
                problems.append(f"{ENV_NAMES[name]} is unset or the development default")
        if len(self.secret_key) < 32:
            problems.append("SECRET_KEY must be at least 32 characters")
        if not self.public_url.startswith("https://"):
            problems.append("PUBLIC_URL must be set to an https:// URL")
        if not self.redis_url:
            problems.append("REDIS_URL must be set (the embedded Redis is for development)")
        problems += self._install_problems()
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    def _install_problems(self) -> list[str]:
        """Token keys must be real, and amoCRM hosts must come from `referer` (issue 4)."""
        problems = []
        if not self.token_encryption_keys:
            problems.append("TOKEN_ENCRYPTION_KEYS must be set (comma-separated Fernet keys)")
        if self.amocrm_api_base:
            problems.append("AMOCRM_API_BASE is for the sandbox and tests; unset it in production")
        if self.amocrm_redirect_uri and not self.amocrm_redirect_uri.startswith("https://"):
            problems.append("AMOCRM_REDIRECT_URI must be an https:// URL")
        if self.amocrm_rps <= 0 or self.amocrm_rps > 7:
            problems.append("AMOCRM_RPS must be in (0, 7]: amoCRM allows 7 requests per second")
        return problems + self._operations_problems()

    def _operations_problems(self) -> list[str]:
        """Keys that must be real keys, and a metrics token nobody can guess (issue 8)."""
        problems = []
        for key in filter(None, (k.strip() for k in self.token_encryption_keys.split(","))):
            if not _is_fernet_key(key):  # the message never echoes key material
                problems.append("TOKEN_ENCRYPTION_KEYS holds a value that is not a Fernet key")
                break
        if len(self.metrics_token) < 24:
            problems.append("METRICS_TOKEN must be set (at least 24 characters): /metrics needs a bearer token")
        if not self.redis_url.startswith(("redis://", "rediss://", "unix://")) and self.redis_url:
            problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
        if self.redis_cluster_url and not self.redis_cluster_url.startswith(("redis://", "rediss://")):
            problems.append("REDIS_CLUSTER_URL must start with redis:// or rediss://")
        if self.log_format not in ("json", "text"):
            problems.append("LOG_FORMAT must be json or text")
        return problems

    @property
    def redirect_uri(self) -> str:
        """The OAuth redirect URI registered with amoCRM (the token endpoint wants it verbatim)."""
        return self.amocrm_redirect_uri or f"{self.base_url}/oauth/callback"


ENV_NAMES = {
    "env": "DEAL_PULSE_ENV",
    "port": "PORT",
    "redis_url": "REDIS_URL",
    "redis_cluster_url": "REDIS_CLUSTER_URL",
    "intake_wait_replicas": "INTAKE_WAIT_REPLICAS",
    "intake_wait_ms": "INTAKE_WAIT_MS",
    "secret_key": "SECRET_KEY",
    "client_id": "AMOCRM_CLIENT_ID",
    "client_secret": "AMOCRM_CLIENT_SECRET",
    "public_url": "PUBLIC_URL",
    "max_webhook_bytes": "MAX_WEBHOOK_BYTES",
    "stuck_default_days": "STUCK_DEFAULT_DAYS",
    "worker_seen_seconds": "WORKER_SEEN_SECONDS",
    "token_leeway_seconds": "TOKEN_LEEWAY_SECONDS",
    "log_level": "LOG_LEVEL",
    "drain_lease_seconds": "DRAIN_LEASE_SECONDS",
    "amocrm_redirect_uri": "AMOCRM_REDIRECT_URI",
    "token_encryption_keys": "TOKEN_ENCRYPTION_KEYS",
    "amocrm_api_base": "AMOCRM_API_BASE",
    "amocrm_rps": "AMOCRM_RPS",
    "amocrm_global_rps": "AMOCRM_GLOBAL_RPS",
    "sync_page_limit": "SYNC_PAGE_LIMIT",
    "sync_history_days": "SYNC_HISTORY_DAYS",
    "reconcile_minutes": "RECONCILE_MINUTES",
    "api_user_rps": "API_USER_RPS",
    "bind_host": "BIND_HOST",
    "web_concurrency": "WEB_CONCURRENCY",
    "web_threads": "WEB_THREADS",
    "shutdown_seconds": "SHUTDOWN_SECONDS",
    "log_format": "LOG_FORMAT",
    "metrics_token": "METRICS_TOKEN",
    "demo_size": "DEMO_SIZE",
    "demo_rps": "DEMO_RPS",
    "demo_events_per_second": "DEMO_EVENTS_PER_SECOND",
    "oauth_rate_per_minute": "OAUTH_RATE_PER_MINUTE",
    "oauth_rate_clients": "OAUTH_RATE_CLIENTS",
    "forwarded_hops": "FORWARDED_HOPS",
    "intake_account_rps": "INTAKE_ACCOUNT_RPS",
    "inbox_max_entries": "INBOX_MAX_ENTRIES",
    "support_url": "SUPPORT_URL",
    "support_email": "SUPPORT_EMAIL",
}


def _is_fernet_key(key: str) -> bool:
    """32 bytes in url-safe base64, as Fernet.generate_key() makes them."""
    import base64
    import binascii
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def _convert(name: str, raw: str, kind: type):
    """Turn one environment string into the setting's type, naming it on failure."""
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{ENV_NAMES[name]}={raw!r} is not a valid {kind.__name__}") from None


def child_environment(**overrides: str) -> dict:
    """The environment for processes we start (`make run`), with our overrides."""
    return {**os.environ, **overrides}
