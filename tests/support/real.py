"""Captures from real amoCRM accounts (tests/data/real, see its README): the payload after `---PAYLOAD---`."""
from __future__ import annotations

import json
from pathlib import Path

REAL = Path(__file__).resolve().parent.parent / "data" / "real"


def payload(name: str) -> str:
    """The payload text of a capture, by file name."""
    return (REAL / name).read_text(encoding="utf-8").split("---PAYLOAD---", 1)[1].strip()


def webhook_body(name: str) -> bytes:
    """A captured webhook body, as amoCRM posted it (one form-encoded line)."""
    return payload(name).encode()


def api_items(name: str, kind: str) -> list:
    """The `_embedded[kind]` items of a captured API answer."""
    return json.loads(payload(name))["_embedded"][kind]
