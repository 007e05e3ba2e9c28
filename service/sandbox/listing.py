"""Query parsing, paging and HAL envelopes shared by the API list endpoints."""
from __future__ import annotations

import re
from collections import OrderedDict
from urllib.parse import urlencode

from flask import Response, json, request

KEY_PART = re.compile(r"\[([^\]]*)\]")


class BadRequest(Exception):
    """A request amoCRM would answer with 400 and validation errors."""

    def __init__(self, path: str, detail: str):
        super().__init__(detail)
        self.path, self.detail = path, detail

    def response(self) -> Response:
        """The validation-error problem body from the amoCRM error reference."""
        body = {"validation-errors": [{"request_id": "0", "errors": [
            {"code": "InvalidValue", "path": self.path, "detail": self.detail}]}],
            "title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400,
            "detail": "Request validation failed"}
        return Response(json.dumps(body, ensure_ascii=False), 400, mimetype="application/problem+json")


def nested_args(prefix: str) -> dict:
    """Parse PHP-style query keys under a prefix: filter[a][from]=1&filter[b][]=2 -> {'a': {'from': '1'}, 'b': ['2']}."""
    tree: dict = {}
    for key in request.args.keys():
        if not key.startswith(prefix + "["):
            continue
        parts = KEY_PART.findall(key[len(prefix):])
        values = request.args.getlist(key)
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        last = parts[-1] if parts else ""
        if last == "":
            node_key = parts[-2] if len(parts) > 1 else None
            if node_key is None:
                continue
            parent = tree
            for part in parts[:-2]:
                parent = parent[part]
            parent[node_key] = values
        else:
            node[last] = values[0] if len(values) == 1 else values
    return tree


def as_list(value) -> list:
    """A filter value as a list of strings: 'a,b', ['a','b'] and {'0': 'a'} all work."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [str(v) for v in value.values()]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [part for part in str(value).split(",") if part != ""]


def as_ints(value, path: str) -> set:
    """A filter value as a set of ints (400 on junk)."""
    try:
        return {int(v) for v in as_list(value)}
    except ValueError:
        raise BadRequest(path, "This value should be of type int.") from None


def time_range(value, path: str) -> tuple[int, int]:
    """A range filter: {'from': a, 'to': b} or a single timestamp meaning 'from'."""
    low, high = -(2 ** 62), 2 ** 62
    try:
        if isinstance(value, dict):
            low = int(value["from"]) if value.get("from") not in (None, "") else low
            high = int(value["to"]) if value.get("to") not in (None, "") else high
        else:
            low = int(value)
    except (ValueError, TypeError):
        raise BadRequest(path, "This value should be a timestamp.") from None
    return low, high


def order_arg(allowed: tuple, default: tuple) -> tuple[str, bool]:
    """(field, descending) from order[field]=asc|desc."""
    order = nested_args("order")
    for field, direction in order.items():
        if field in allowed and str(direction).lower() in ("asc", "desc"):
            return field, str(direction).lower() == "desc"
        raise BadRequest(f"order.{field}", "Unsupported order.")
    return default


def page_args(max_limit: int) -> tuple[int, int]:
    """(page, limit); limit above the maximum is clamped to it, as the docs give a maximum."""
    try:
        page = int(request.args.get("page", 1))
        limit = int(request.args.get("limit", 50))
    except ValueError:
        raise BadRequest("page", "This value should be of type int.") from None
    if page < 1 or limit < 1:
        raise BadRequest("page" if page < 1 else "limit", "This value should be positive.")
    return page, min(limit, max_limit)


def base_url() -> str:
    """Scheme and host the client used, so HAL links point back at the sandbox."""
    return request.host_url.rstrip("/")


def href(page: int, limit: int) -> str:
    """This list's URL for another page, other query arguments kept."""
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "limit")]
    pairs += [("limit", limit), ("page", page)]
    return f"{base_url()}{request.path}?{urlencode(pairs, safe='[],')}"


def hal(body: dict, status: int = 200) -> Response:
    """A application/hal+json response."""
    return Response(json.dumps(body, ensure_ascii=False), status, mimetype="application/hal+json")


def no_content() -> Response:
    """amoCRM's answer to an empty list: 204 with an empty body."""
    return Response(status=204)


def paged(name: str, items: list, render, max_limit: int = 250) -> Response:
    """One page of a list as HAL with _links.next while more remain; 204 when the page is empty."""
    page, limit = page_args(max_limit)
    start = (page - 1) * limit
    chunk = items[start:start + limit]
    if not chunk:
        return no_content()
    links = {"self": {"href": href(page, limit)}}
    if start + limit < len(items):
        links["next"] = {"href": href(page + 1, limit)}
    if page > 1:
        links["first"] = {"href": href(1, limit)}
        links["prev"] = {"href": href(page - 1, limit)}
    return hal({"_page": page, "_links": links, "_embedded": {name: [render(item) for item in chunk]}})


def with_totals(response: Response, total: int, max_limit: int = 250) -> Response:
    """A page from `paged` with the `_total_items` and `_page_count` some lists carry (users, custom fields)."""
    if response.status_code != 200:
        return response
    body, limit = response.get_json(), min(int(request.args.get("limit", 50)), max_limit)
    return hal({"_total_items": total, "_page": body["_page"], "_page_count": -(-total // limit),
                **{k: body[k] for k in ("_links", "_embedded")}})


class QueryCache:
    """Small LRU of computed (filtered, ordered) lists, invalidated by the world's version."""

    def __init__(self, size: int = 16):
        self.size, self.data = size, OrderedDict()

    def get(self, key, compute):
        """The cached value for key, computing it on a miss."""
        if key in self.data:
            self.data.move_to_end(key)
            return self.data[key]
        value = compute()
        self.data[key] = value
        if len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


def freeze(value):
    """A hashable form of a parsed query tree."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value
