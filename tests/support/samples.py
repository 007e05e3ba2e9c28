"""Verbatim amoCRM samples from tests/data, decoded."""
from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"


def webhook_bodies(name: str) -> list[bytes]:
    """The raw body sections of a webhook capture file (`---BODY...---` markers)."""
    text = (DATA / "samples" / "webhooks" / name).read_text()
    chunks = text.split("---BODY")[1:]
    return [chunk.split("---", 1)[1].strip().splitlines()[0].encode() for chunk in chunks]
