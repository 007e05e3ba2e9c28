"""amoCRM webhook intake: store durably, queue, answer within amoCRM's 2 seconds."""
from flask import Blueprint, jsonify, request

from service import intake
from service.errors import PayloadTooLarge, UnsupportedMediaType
from service.web import deps

bp = Blueprint("hooks", __name__)
FORM = "application/x-www-form-urlencoded"


@bp.post("/hooks/<int:account_id>/<secret>")
def receive(account_id: int, secret: str):
    """Accept one webhook body."""
    if request.mimetype != FORM:
        raise UnsupportedMediaType(f"expected Content-Type {FORM}, got {request.mimetype or 'none'!r}")
    limit = deps().settings.max_webhook_bytes
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"body is {request.content_length} bytes; the limit is {limit}")
    # Without Content-Length (chunked, under gunicorn) werkzeug silently cuts the body at the limit: read one byte
    # more, so that a longer body is refused instead of stored truncated.
    request.max_content_length = limit + 1
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise PayloadTooLarge(f"body is more than {limit} bytes; the limit is {limit}")
    result = intake.receive_webhook(deps(), account_id, secret, body, request.headers)
    return jsonify(result), 202 if result["rejected"] else 200
