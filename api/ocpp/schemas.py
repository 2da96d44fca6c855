"""The official OCPP JSON schemas (shipped inside the ``ocpp`` package), compiled once at start-up.

Validation errors become the CALLERROR fault OCPP-J names for them:

    required                         -> ProtocolError (payload incomplete)
    minItems / maxItems              -> OccurenceConstraintViolation
    type, maxLength, format          -> TypeConstraintViolation (CiString / dateTime / integer types)
    enum, minimum, maximum, ...      -> PropertyConstraintViolation (a field holds an invalid value)
    additionalProperties             -> FormationViolation (not the PDU structure of the action)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import ocpp
from jsonschema import Draft4Validator, FormatChecker

from api.core.clock import parse_ocpp_datetime
from api.ocpp.frames import Fault, FrameError

SCHEMA_ROOT = Path(ocpp.__file__).parent

FAULT_BY_KEYWORD = {
    "required": Fault.PROTOCOL,
    "minItems": Fault.OCCURRENCE,
    "maxItems": Fault.OCCURRENCE,
    "type": Fault.TYPE,
    "maxLength": Fault.TYPE,
    "format": Fault.TYPE,
    "additionalProperties": Fault.FORMAT,
}

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        parse_ocpp_datetime(value)
    return True


class SchemaSet:
    """Request and response validators of one OCPP version, keyed by action."""

    def __init__(self, folder: str, request_suffix: str) -> None:
        self.requests: dict[str, Draft4Validator] = {}
        self.responses: dict[str, Draft4Validator] = {}
        for path in sorted((SCHEMA_ROOT / folder / "schemas").glob("*.json")):
            name = path.stem
            schema = json.loads(path.read_text(encoding="utf-8-sig"))
            schema.pop("$schema", None)
            validator = Draft4Validator(schema, format_checker=_format_checker)
            if name.endswith("Response"):
                self.responses[name.removesuffix("Response")] = validator
            elif name.endswith(request_suffix):
                self.requests[name.removesuffix(request_suffix) if request_suffix else name] = validator

    def knows(self, action: str) -> bool:
        return action in self.requests

    def check_request(self, action: str, unique_id: str, payload: dict[str, Any]) -> None:
        _check(self.requests[action], unique_id, payload)

    def check_response(self, action: str, unique_id: str, payload: dict[str, Any]) -> None:
        _check(self.responses[action], unique_id, payload)


def _check(validator: Draft4Validator, unique_id: str, payload: dict[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is None:
        return
    fault = FAULT_BY_KEYWORD.get(str(error.validator), Fault.PROPERTY)
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    raise FrameError(fault, f"{where}: {error.message}"[:255], unique_id, {"path": where, "keyword": error.validator})


V16 = "ocpp1.6"
_loaded: dict[str, SchemaSet] = {}


def load(dialect: str) -> SchemaSet:
    """Compile once per process; call at start-up so no request pays for it."""
    if dialect not in _loaded:
        if dialect == V16:
            _loaded[dialect] = SchemaSet("v16", "")
        else:
            raise ValueError(f"no schemas for {dialect}")
    return _loaded[dialect]
