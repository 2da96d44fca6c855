"""Frozen dataclasses of plain values ⇄ JSON, for what crosses between nodes (events, commands, results).

A value travels as ``{"t": "<module>.<Class>", "f": {fields}}``: datetimes in ISO 8601, enums by value, nested
dataclasses as objects, tuples as lists. Decoding restores each field by the dataclass's type hints, so a
``ChargingPhase`` comes back a ``ChargingPhase`` and a ``tuple[ConfigurationKey, ...]`` a tuple of them.
Only the classes the codec was given can be built: a message naming any other class is refused.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


class DataclassCodec:
    def __init__(self, classes: Callable[[], Iterable[type]]) -> None:
        """``classes`` lists what may be decoded; asked again when a name is not known yet (classes defined in
        modules imported later, such as every ``Event`` subclass)."""
        self._list = classes
        self._classes: dict[str, type] = {}
        self._hints: dict[type, dict[str, Any]] = {}

    def encode(self, value: Any) -> str:
        return json.dumps(self.plain(value), ensure_ascii=False, separators=(",", ":"))

    def decode(self, text: str | bytes) -> Any:
        return self.restore_object(json.loads(text))

    def plain(self, value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: self.plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
            return {"t": name_of(type(value)), "f": fields}
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, tuple | list):
            return [self.plain(v) for v in value]
        return value

    def restore_object(self, body: Any) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("t"), str) or not isinstance(body.get("f"), dict):
            raise ValueError("not an encoded dataclass")
        cls = self._class(body["t"])
        hints = self._hints.get(cls)
        if hints is None:
            hints = self._hints[cls] = typing.get_type_hints(cls)
        return cls(**{name: self._restore(hints.get(name), value) for name, value in body["f"].items()})

    def _class(self, name: str) -> type:
        cls = self._classes.get(name)
        if cls is None:
            self._classes = {name_of(c): c for c in self._list()}
            cls = self._classes.get(name)
            if cls is None:
                raise ValueError(f"unknown type {name!r}")
        return cls

    def _restore(self, hint: Any, value: Any) -> Any:
        if value is None or hint is None:
            return value
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            options = [o for o in typing.get_args(hint) if o is not type(None)]
            if isinstance(value, dict) and "t" in value:
                return self.restore_object(value)
            return self._restore(options[0], value) if len(options) == 1 else value
        if isinstance(value, dict) and "t" in value:
            return self.restore_object(value)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return hint(value)
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            return tuple(self._restore(args[0] if args else None, v) for v in value)
        return value
