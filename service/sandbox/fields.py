"""Typed reads from loaded JSON that fail with the object path and field, e.g. leads[3].status_id."""
from __future__ import annotations

from typing import Any

NAMES = {int: "int", str: "string", bool: "bool", list: "list", dict: "object", float: "number"}


class ShapeError(ValueError):
    """An account file object has the wrong shape; the message names the object and field."""


def kind_of(value: Any) -> str:
    """The JSON type name of a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    return NAMES.get(type(value), type(value).__name__)


def is_type(value: Any, kind: type) -> bool:
    """isinstance that keeps bool apart from int."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


class Obj:
    """One JSON object with its path, offering typed getters."""

    def __init__(self, data: Any, path: str):
        if not isinstance(data, dict):
            raise ShapeError(f"{path}: expected object, got {kind_of(data)}")
        self.data, self.path = data, path

    def get(self, key: str, kind: type, nullable: bool = False, default: Any = ...) -> Any:
        """The field, checked against kind; a missing field uses default or fails."""
        if key not in self.data:
            if default is not ...:
                return default
            raise ShapeError(f"{self.path}.{key}: missing")
        value = self.data[key]
        if value is None and nullable:
            return None
        if not is_type(value, kind):
            null = " or null" if nullable else ""
            raise ShapeError(f"{self.path}.{key}: expected {NAMES[kind]}{null}, got {kind_of(value)}")
        return value

    def int(self, key: str, nullable: bool = False, default: Any = ...) -> Any:
        """An int field."""
        return self.get(key, int, nullable, default)

    def str(self, key: str, nullable: bool = False, default: Any = ...) -> Any:
        """A string field."""
        return self.get(key, str, nullable, default)

    def bool(self, key: str, default: Any = ...) -> Any:
        """A bool field."""
        return self.get(key, bool, False, default)

    def obj(self, key: str, default: Any = ...) -> "Obj":
        """A nested object."""
        value = self.get(key, dict, False, default)
        return Obj(value, f"{self.path}.{key}")

    def objs(self, key: str, default: Any = ...) -> list["Obj"]:
        """A list of objects."""
        items = self.get(key, list, False, default)
        return [Obj(item, f"{self.path}.{key}[{i}]") for i, item in enumerate(items)]


def objects(doc: dict, key: str, required: bool = True) -> list[Obj]:
    """A top-level list of the account file as Obj items named key[i]."""
    if key not in doc:
        if required:
            raise ShapeError(f"{key}: missing")
        return []
    if not isinstance(doc[key], list):
        raise ShapeError(f"{key}: expected list, got {kind_of(doc[key])}")
    return [Obj(item, f"{key}[{i}]") for i, item in enumerate(doc[key])]
