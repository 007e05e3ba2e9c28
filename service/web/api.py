"""The widget API (/api/v1): one-time token auth, CORS for the account's own origin only."""
from flask import Blueprint, Response, g, request

from service import services
from service.web import deps
from service.web.auth import request_claims

bp = Blueprint("api", __name__, url_prefix="/api/v1")
CORS_HEADERS = "X-Auth-Token, Content-Type"


@bp.get("/leads/<int:lead_id>/hints")
def lead_hints(lead_id: int):
    """The precomputed hints of one deal card."""
    claims = request_claims(deps().settings)
    g.account, card = services.read_card(deps(), claims, lead_id)
    return Response(card, mimetype="application/json")


@bp.before_request
def preflight():
    """CORS preflight: allowed only from an installed account's pages."""
    if request.method != "OPTIONS":
        return None
    origin = request.headers.get("Origin", "")
    if not deps().store.origin_is_installed(origin):
        return Response(status=403)
    response = Response(status=204)
    _allow(response, origin)
    response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
    response.headers["Access-Control-Max-Age"] = "600"
    return response


@bp.after_request
def cors(response: Response) -> Response:
    """Let the browser read an answer only on the token's own account origin."""
    account = g.get("account")
    origin = request.headers.get("Origin", "")
    if account is not None and origin == account.origin:
        _allow(response, origin)
    return response


def _allow(response: Response, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
