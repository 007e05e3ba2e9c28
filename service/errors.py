"""Domain errors that the web edge turns into `{"error": code, "message": text}`."""


class AppError(Exception):
    """Base: an HTTP status, a stable code, and a message a person can act on."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(AppError):
    status, code = 400, "bad_request"


class Unauthorized(AppError):
    status, code = 401, "unauthorized"


class TokenReplayed(Unauthorized):
    """A widget token seen before: its own code, so the widget retries once with a fresh `$authorizedAjax` token
    and an operator sees in /metrics whether amoCRM ever reuses tokens (FACTS §2: unverified either way)."""

    code = "token_replayed"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class NotFound(AppError):
    status, code = 404, "not_found"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class Unavailable(AppError):
    status, code = 503, "unavailable"


# --- widget API (issue 7)
class Conflict(AppError):
    status, code = 409, "conflict"


class Unprocessable(AppError):
    status, code = 422, "unprocessable"


class TooManyRequests(AppError):
    """429 with a Retry-After header (seconds)."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int = 1, **details):
        super().__init__(message, retry_after=retry_after, **details)
        self.headers = {"Retry-After": str(retry_after)}


class BadGateway(AppError):
    status, code = 502, "bad_gateway"


class Overloaded(AppError):
    """503 with a Retry-After header (seconds): come back later, nothing was stored (issue 16)."""

    status, code = 503, "overloaded"

    def __init__(self, message: str, retry_after: int = 1, **details):
        super().__init__(message, retry_after=retry_after, **details)
        self.headers = {"Retry-After": str(retry_after)}
