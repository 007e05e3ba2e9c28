"""PHP-style form keys (`leads[status][0][id]=1`) decoded into nested dicts, generically."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl

MAX_DEPTH = 8
MAX_FIELDS = 20_000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """The body is not a well-formed PHP-style form; the message names the key."""


def parse_php_form(body: bytes) -> dict:
    """Decode an x-www-form-urlencoded body into nested dicts keyed by strings."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
                          max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise FormError(f"body is not form-encoded: {exc}") from None
    root: dict = {}
    for key, value in pairs:
        _insert(root, key, _path(key), value)
    return root


def _path(key: str) -> list[str]:
    """Split `a[b][c]` into ['a', 'b', 'c'], refusing malformed or too deep keys."""
    match = _KEY.match(key)
    if not match:
        raise FormError(f"malformed key {key!r}")
    parts = [match.group(1)] + _PART.findall(match.group(2))
    if len(parts) > MAX_DEPTH:
        raise FormError(f"key {key!r} is nested deeper than {MAX_DEPTH} levels")
    return parts


def _insert(root: dict, key: str, path: list[str], value: str) -> None:
    """Place one value at its path; `[]` appends; a scalar/dict clash is an error."""
    node = root
    for depth, part in enumerate(path):
        last = depth == len(path) - 1
        if part == "":
            part = str(len(node))
        if last:
            if isinstance(node.get(part), dict):
                raise FormError(f"key {key!r} is both a value and a group")
            node[part] = value
            return
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise FormError(f"key {key!r} is both a value and a group")
        node = child


def items_of(group) -> list[tuple[str, dict]]:
    """The indexed children of a `[0]`, `[1]`… group in index order, with their index."""
    if not isinstance(group, dict):
        return []
    return sorted(((k, v) for k, v in group.items()),
                  key=lambda kv: (not kv[0].isdecimal(), int(kv[0]) if kv[0].isdecimal() else 0, kv[0]))
