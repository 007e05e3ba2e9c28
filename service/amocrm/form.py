"""PHP-style form keys (`leads[status][0][id]=1`) decoded into nested dicts, generically."""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote_plus

MAX_DEPTH = 8
MAX_FIELDS = 20_000
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


class FormError(ValueError):
    """The body is not a well-formed PHP-style form; the message names the key."""


def parse_php_form(body: bytes) -> dict:
    """Decode an x-www-form-urlencoded body into nested dicts keyed by strings (as `parse_qsl` would decode)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError(f"body is not UTF-8 (byte {exc.start})") from None
    if not text:
        return {}
    if text.count("&") >= MAX_FIELDS:
        raise FormError("body is not form-encoded: Max number of fields exceeded")
    pairs = [pair.partition("=") for pair in text.split("&")]
    for raw_key, equals, _ in pairs:  # the whole body is checked before any key, as parse_qsl would
        if not equals:
            raise FormError(f"body is not form-encoded: bad query field: {raw_key!r}")
    root: dict = {}
    for raw_key, _, value in pairs:
        key, path = _cached_key(raw_key) if len(raw_key) <= SHORT_KEY else _key(raw_key)
        _insert(root, key, path, unquote_plus(value) if "%" in value or "+" in value else value)
    return root


def _key(raw: str) -> tuple[str, tuple[str, ...]]:
    """The percent-decoded key and its parts: `a%5Bb%5D%5Bc%5D` is `a[b][c]`, ('a', 'b', 'c')."""
    key = raw.replace("%5B", "[").replace("%5D", "]")  # amoCRM encodes every bracket; most keys need no more
    if "%" in key or "+" in key:
        key = unquote_plus(key)
    return key, _split(key)


def _split(key: str) -> tuple[str, ...]:
    """The parts of a key, refusing malformed or too deep keys."""
    match = _KEY.match(key)
    if not match:
        raise FormError(f"malformed key {key!r}")
    parts = (match.group(1), *_PART.findall(match.group(2)))
    if len(parts) > MAX_DEPTH:
        raise FormError(f"key {key!r} is nested deeper than {MAX_DEPTH} levels")
    return parts


# Every delivery repeats the same few short keys: those are decoded once. Longer keys are decoded each time, so
# the cache never holds more than ~250 KB of hostile keys.
SHORT_KEY = 120
_cached_key = lru_cache(maxsize=1024)(_key)


def _insert(root: dict, key: str, path: tuple[str, ...], value: str) -> None:
    """Place one value at its path; `[]` appends; a scalar/dict clash is an error."""
    node = root
    for part in path[:-1]:
        child = node.setdefault(part or str(len(node)), {})
        if not isinstance(child, dict):
            raise FormError(f"key {key!r} is both a value and a group")
        node = child
    last = path[-1] or str(len(node))
    if isinstance(node.get(last), dict):
        raise FormError(f"key {key!r} is both a value and a group")
    node[last] = value


def items_of(group) -> list[tuple[str, dict]]:
    """The indexed children of a `[0]`, `[1]`… group in index order, with their index."""
    if not isinstance(group, dict):
        return []
    return sorted(((k, v) for k, v in group.items()),
                  key=lambda kv: (not kv[0].isdecimal(), int(kv[0]) if kv[0].isdecimal() else 0, kv[0]))
