"""Frozen dataclasses of plain values ⇄ JSON, for what crosses between nodes (events, commands, results).

A value travels as ``{"t": "<module>.<Class>", "f": {fields}}``: datetimes in ISO 8601, enums by value, nested
dataclasses as objects, tuples as lists. Decoding restores each field by the dataclass's type hints, so a
``ChargingPhase`` comes back a ``ChargingPhase`` and a ``tuple[ConfigurationKey, ...]`` a tuple of them.
Only the classes the codec was given can be built: a message naming any other class is refused.

A field marked secret (``field(metadata={"secret": True})``, e.g. a pile's new password) never travels in
clear: it is sealed with AES-256-GCM (``SecretSealer``, keyed from the deployment's shared secret) as
``{"sealed": base64(nonce ‖ ciphertext ‖ tag)}``, bound by the associated data to the message's id (the command
id) and to the field's place, so a sealed value moved to another message or field does not open. A codec
without a sealer refuses to encode a secret at all, and one that cannot open it refuses to decode
(``SealedValueError``): nothing acts on a command it could not read whole.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import os
import types
import typing
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12
"""GCM's 96-bit nonce, random per sealed value (2^32 values per key keep the collision chance negligible)."""


class SealedValueError(ValueError):
    """A secret field that cannot be opened: no sealer, another key, other associated data, or tampered."""


class SecretSealer:
    """AES-256-GCM (``cryptography``'s AESGCM) for the secret fields of messages between nodes."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def derived(cls, secret: str, purpose: str) -> SecretSealer:
        """Keyed by HKDF-SHA256 from the deployment's shared secret, one key per ``purpose``."""
        if not secret:
            raise ValueError("a sealer needs a non-empty secret")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"chargeops-sealer", info=purpose.encode("utf-8"))
        return cls(hkdf.derive(secret.encode("utf-8")))

    def seal(self, plaintext: str, associated: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        return base64.b64encode(nonce + self._aead.encrypt(nonce, plaintext.encode("utf-8"), associated)).decode()

    def open(self, token: str, associated: bytes) -> str:
        try:
            raw = base64.b64decode(token, validate=True)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated).decode("utf-8")
        except (InvalidTag, binascii.Error, ValueError, TypeError) as error:
            raise SealedValueError("a sealed value did not open (another key, another message, or altered)") from error


def _is_secret(field: dataclasses.Field[Any]) -> bool:
    return bool(field.metadata.get("secret"))


def _associated(message_id: str, cls: type, field_name: str) -> bytes:
    return f"{message_id}\x00{name_of(cls)}.{field_name}".encode()


def name_of(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *subclasses(sub)]
    return found


class DataclassCodec:
    def __init__(self, classes: Callable[[], Iterable[type]], sealer: SecretSealer | None = None) -> None:
        """``classes`` lists what may be decoded; asked again when a name is not known yet (classes defined in
        modules imported later, such as every ``Event`` subclass). ``sealer`` seals and opens secret fields."""
        self._list = classes
        self._sealer = sealer
        self._classes: dict[str, type] = {}
        self._hints: dict[type, dict[str, Any]] = {}
        self._secrets: dict[type, frozenset[str]] = {}

    def encode(self, value: Any, message_id: str = "") -> str:
        """JSON of ``value``; its secret fields sealed and bound to ``message_id``."""
        return json.dumps(self.plain(value, message_id), ensure_ascii=False, separators=(",", ":"))

    def decode(self, text: str | bytes, message_id: str = "") -> Any:
        return self.restore_object(json.loads(text), message_id)

    def plain(self, value: Any, message_id: str = "") -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {
                f.name: self._seal(type(value), f.name, getattr(value, f.name), message_id) if _is_secret(f)
                else self.plain(getattr(value, f.name), message_id)
                for f in dataclasses.fields(value)
            }
            return {"t": name_of(type(value)), "f": fields}
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, tuple | list):
            return [self.plain(v, message_id) for v in value]
        return value

    def restore_object(self, body: Any, message_id: str = "") -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("t"), str) or not isinstance(body.get("f"), dict):
            raise ValueError("not an encoded dataclass")
        cls = self._class(body["t"])
        hints = self._hints.get(cls)
        if hints is None:
            hints = self._hints[cls] = typing.get_type_hints(cls)
            self._secrets[cls] = frozenset(f.name for f in dataclasses.fields(cls) if _is_secret(f))
        secret = self._secrets[cls]
        return cls(**{
            name: self._open(cls, name, value, message_id) if name in secret
            else self._restore(hints.get(name), value, message_id)
            for name, value in body["f"].items()
        })

    def _seal(self, cls: type, name: str, value: Any, message_id: str) -> Any:
        if value is None:
            return None
        if self._sealer is None:
            raise SealedValueError(f"{name_of(cls)}.{name} is secret: this codec has no sealer to send it")
        return {"sealed": self._sealer.seal(str(value), _associated(message_id, cls, name))}

    def _open(self, cls: type, name: str, value: Any, message_id: str) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("sealed"), str):
            raise SealedValueError(f"{name_of(cls)}.{name} is secret and came unsealed")
        if self._sealer is None:
            raise SealedValueError(f"{name_of(cls)}.{name} is sealed: this codec has no sealer to open it")
        return self._sealer.open(value["sealed"], _associated(message_id, cls, name))

    def _class(self, name: str) -> type:
        cls = self._classes.get(name)
        if cls is None:
            self._classes = {name_of(c): c for c in self._list()}
            cls = self._classes.get(name)
            if cls is None:
                raise ValueError(f"unknown type {name!r}")
        return cls

    def _restore(self, hint: Any, value: Any, message_id: str = "") -> Any:
        if value is None or hint is None:
            return value
        if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
            options = [o for o in typing.get_args(hint) if o is not type(None)]
            if isinstance(value, dict) and "t" in value:
                return self.restore_object(value, message_id)
            return self._restore(options[0], value, message_id) if len(options) == 1 else value
        if isinstance(value, dict) and "t" in value:
            return self.restore_object(value, message_id)
        if hint is datetime:
            return datetime.fromisoformat(value)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return hint(value)
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            return tuple(self._restore(args[0] if args else None, v, message_id) for v in value)
        return value
