"""A recursive shape comparator: same keys, value types and nesting as a verbatim sample."""
from __future__ import annotations

import fnmatch
import json
import pathlib
import re
from urllib.parse import parse_qsl

SAMPLES = pathlib.Path(__file__).resolve().parents[1] / "data" / "samples"


def sample(name: str) -> dict:
    """A JSON sample from tests/data/samples/api."""
    return json.loads((SAMPLES / "api" / name).read_text(encoding="utf-8"))


def kind(value) -> str:
    """JSON type name, bool kept apart from int."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "list", dict: "object", type(None): "null"}[type(value)]


def shape_errors(ours, theirs, path: str = "$", nullable=(), extra_ok=()) -> list[str]:
    """Differences in keys/types/nesting. A null in the sample accepts anything; our null is accepted
    only at paths matching `nullable`; extra keys only at paths matching `extra_ok`."""
    if theirs is None:
        return []
    if ours is None:
        return [] if any(fnmatch.fnmatch(path, p) for p in nullable) else [f"{path}: null, sample has {kind(theirs)}"]
    if kind(ours) != kind(theirs):
        return [f"{path}: {kind(ours)}, sample has {kind(theirs)}"]
    errors: list[str] = []
    if isinstance(theirs, dict):
        for key in theirs.keys() - ours.keys():
            errors.append(f"{path}.{key}: missing")
        for key in ours.keys() - theirs.keys():
            if not any(fnmatch.fnmatch(f"{path}.{key}", p) for p in extra_ok):
                errors.append(f"{path}.{key}: not in sample")
        for key in theirs.keys() & ours.keys():
            errors += shape_errors(ours[key], theirs[key], f"{path}.{key}", nullable, extra_ok)
    elif isinstance(theirs, list) and theirs:
        for i, item in enumerate(ours):
            errors += shape_errors(item, theirs[min(i, len(theirs) - 1)], f"{path}[]", nullable, extra_ok)
    return errors


def webhook_body(name: str, section: int = 0) -> str:
    """The raw body of a captured webhook sample (the n-th BODY section)."""
    text = (SAMPLES / "webhooks" / name).read_text(encoding="utf-8")
    bodies = re.split(r"---BODY[^\n]*---\n", text)[1:]
    return bodies[section].strip().splitlines()[0]


def generic_keys(body: str) -> list[str]:
    """Form keys with every numeric index replaced by [N]."""
    return [re.sub(r"\[\d+\]", "[N]", key) for key, _ in parse_qsl(body, keep_blank_values=True)]


def docs_examples() -> dict[str, dict]:
    """The docs' JSON representations of webhook bodies, by heading (comments stripped)."""
    text = (SAMPLES / "webhooks" / "docs_webhook_format_examples.txt").read_text(encoding="utf-8")
    out = {}
    for block in text.split("===== docs heading: ")[1:]:
        heading, _, body = block.partition(" =====")
        body = re.sub(r"//[^\n]*", "", body)
        try:
            out.setdefault(heading.strip(), json.loads(body))
        except json.JSONDecodeError:
            continue
    return out


def flatten(value, prefix: str = "") -> list[str]:
    """PHP-style keys of a decoded form structure, numeric indexes as [N]."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return [prefix]
    keys = []
    for key, item in items:
        part = "[N]" if str(key).isdigit() else f"[{key}]"
        keys += flatten(item, f"{prefix}{part}" if prefix else str(key))
    return keys
