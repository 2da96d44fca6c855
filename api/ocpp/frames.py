"""Pre-parsing of OCPP-J frames, and CALLERRORs in each protocol version's own words.

The ``ocpp`` library only logs frames it cannot unpack and never answers them, so every raw frame goes
through ``parse`` first. A frame that cannot be read gets a CALLERROR; when even its message id cannot
be read, the id ``"-1"`` is used (OCPP 2.0.1 part 4 §4.2.3; 1.6 names no id for this case, and piles
in the field accept the same convention).

Error codes are kept as version-neutral ``Fault`` values and spelled per dialect when sent: OCPP-J 1.6
§4.2.3 says ``FormationViolation`` and ``OccurenceConstraintViolation``; 2.0.1 says ``FormatViolation``,
``OccurrenceConstraintViolation`` and adds ``RpcFrameworkError`` and ``MessageTypeNotSupported``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

CALL, CALLRESULT, CALLERROR = 2, 3, 4
UNKNOWN_ID = "-1"
MAX_UNIQUE_ID_LENGTH = 36  # OCPP-J: "maximum of 36 characters, to allow for GUIDs"


class Fault(Enum):
    FORMAT = "format"
    PROTOCOL = "protocol"
    PROPERTY = "property"
    OCCURRENCE = "occurrence"
    TYPE = "type"
    NOT_IMPLEMENTED = "not_implemented"
    NOT_SUPPORTED = "not_supported"
    INTERNAL = "internal"
    SECURITY = "security"
    GENERIC = "generic"
    RPC_FRAMEWORK = "rpc_framework"
    MESSAGE_TYPE_NOT_SUPPORTED = "message_type_not_supported"


SPELLING: dict[str, dict[Fault, str]] = {
    "ocpp1.6": {
        Fault.FORMAT: "FormationViolation",
        Fault.PROTOCOL: "ProtocolError",
        Fault.PROPERTY: "PropertyConstraintViolation",
        Fault.OCCURRENCE: "OccurenceConstraintViolation",
        Fault.TYPE: "TypeConstraintViolation",
        Fault.NOT_IMPLEMENTED: "NotImplemented",
        Fault.NOT_SUPPORTED: "NotSupported",
        Fault.INTERNAL: "InternalError",
        Fault.SECURITY: "SecurityError",
        Fault.GENERIC: "GenericError",
        # 1.6 has neither of these; an unreadable RPC frame is a formation violation there.
        Fault.RPC_FRAMEWORK: "FormationViolation",
        Fault.MESSAGE_TYPE_NOT_SUPPORTED: "FormationViolation",
    },
    "ocpp2.0.1": {
        Fault.FORMAT: "FormatViolation",
        Fault.PROTOCOL: "ProtocolError",
        Fault.PROPERTY: "PropertyConstraintViolation",
        Fault.OCCURRENCE: "OccurrenceConstraintViolation",
        Fault.TYPE: "TypeConstraintViolation",
        Fault.NOT_IMPLEMENTED: "NotImplemented",
        Fault.NOT_SUPPORTED: "NotSupported",
        Fault.INTERNAL: "InternalError",
        Fault.SECURITY: "SecurityError",
        Fault.GENERIC: "GenericError",
        Fault.RPC_FRAMEWORK: "RpcFrameworkError",
        Fault.MESSAGE_TYPE_NOT_SUPPORTED: "MessageTypeNotSupported",
    },
}


@dataclass
class FrameError(Exception):
    fault: Fault
    description: str
    unique_id: str = UNKNOWN_ID
    details: dict[str, Any] = field(default_factory=dict)
    respond: bool = True
    """False for a malformed CALLRESULT/CALLERROR: answering a response with an error helps nobody."""

    def __post_init__(self) -> None:
        super().__init__(self.description)

    def to_json(self, dialect: str) -> str:
        return encode([CALLERROR, self.unique_id, SPELLING[dialect][self.fault], self.description[:255], self.details])


@dataclass(frozen=True)
class Call:
    unique_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallResult:
    unique_id: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class CallError:
    unique_id: str
    error_code: str
    description: str
    details: dict[str, Any]


Frame = Call | CallResult | CallError


def encode(message: list[Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def parse(raw: str | bytes) -> Frame:
    """Read one frame, or raise ``FrameError`` naming the fault and the id to answer with."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FrameError(Fault.RPC_FRAMEWORK, "frame is not UTF-8 text") from None
    try:
        message = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise FrameError(Fault.RPC_FRAMEWORK, "frame is not valid JSON") from None
    if not isinstance(message, list) or not message:
        raise FrameError(Fault.RPC_FRAMEWORK, "frame is not a non-empty JSON array")
    unique_id = message[1] if len(message) > 1 else None
    if not isinstance(unique_id, str) or not 0 < len(unique_id) <= MAX_UNIQUE_ID_LENGTH:
        raise FrameError(Fault.RPC_FRAMEWORK, "message id is missing, not a string, or longer than 36 characters")
    type_id = message[0]
    if type(type_id) is not int or type_id not in (CALL, CALLRESULT, CALLERROR):
        raise FrameError(Fault.MESSAGE_TYPE_NOT_SUPPORTED, f"message type {type_id!r} is not 2, 3 or 4", unique_id)
    if type_id == CALL:
        # not an RPC request at all (2.0.1: RpcFrameworkError), versus a payload that is not a PDU (FormatViolation)
        if len(message) != 4:
            raise FrameError(Fault.RPC_FRAMEWORK, f"a CALL has 4 elements, this one has {len(message)}", unique_id)
        action, payload = message[2], message[3]
        if not isinstance(action, str) or not action:
            raise FrameError(Fault.RPC_FRAMEWORK, "action is not a string", unique_id)
        if not isinstance(payload, dict):
            raise FrameError(Fault.FORMAT, "payload is not a JSON object", unique_id)
        return Call(unique_id, action, payload)
    if type_id == CALLRESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            raise FrameError(Fault.FORMAT, "a CALLRESULT is [3, id, {payload}]", unique_id, respond=False)
        return CallResult(unique_id, message[2])
    if len(message) != 5 or not isinstance(message[2], str) or not isinstance(message[3], str):
        raise FrameError(
            Fault.FORMAT, "a CALLERROR is [4, id, code, description, {details}]", unique_id, respond=False
        )
    details = message[4] if isinstance(message[4], dict) else {}
    return CallError(unique_id, message[2], message[3], details)
