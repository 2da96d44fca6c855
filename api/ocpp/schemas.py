"""The official OCPP JSON schemas (shipped inside the ``ocpp`` package), compiled once at start-up.

1.6 ships draft-04 schemas named ``<Action>.json``; 2.0.1 ships draft-06 schemas named
``<Action>Request.json``. Validation errors become the CALLERROR fault each version's table of error codes
names for them (OCPP-J 1.6 §4.2.3, OCPP 2.0.1 part 4 §4.3):

    keyword                     1.6                                   2.0.1
    required                    ProtocolError ("incomplete")          OccurrenceConstraintViolation
    minItems / maxItems         OccurenceConstraintViolation          OccurrenceConstraintViolation
    type, maxLength, format     TypeConstraintViolation               TypeConstraintViolation
    enum, minimum, ...          PropertyConstraintViolation           PropertyConstraintViolation
    additionalProperties        FormationViolation ("not the PDU")    ProtocolError ("not conform the PDU")

Each schema is compiled twice. ``fastjsonschema`` turns it into a Python function: a valid payload (nearly
every one) is checked by that alone, ~10-20 times cheaper than jsonschema's interpreted validation, which was
the largest single cost of a MeterValues. Only a payload it refuses goes through jsonschema, whose
``best_match`` picks the error the table above maps, so the CALLERROR a pile gets is exactly what it was.
The compiled check uses our own ``date-time`` rule too; should it ever refuse a payload jsonschema accepts,
jsonschema finds no error and the payload is accepted, as before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import jsonschema
import ocpp
from jsonschema import Draft4Validator, Draft6Validator, FormatChecker
from jsonschema.protocols import Validator

from api.core.clock import parse_ocpp_datetime
from api.ocpp.frames import Fault, FrameError

log = logging.getLogger(__name__)

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
FAULT_BY_KEYWORD_V201 = {
    **FAULT_BY_KEYWORD,
    "required": Fault.OCCURRENCE,
    "additionalProperties": Fault.PROTOCOL,
}

_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if isinstance(value, str):
        parse_ocpp_datetime(value)
    return True


def _is_ocpp_datetime(value: str) -> bool:
    """The same ``date-time`` rule for the compiled validators (they call a format with strings only)."""
    try:
        parse_ocpp_datetime(value)
    except ValueError:
        return False
    return True


def _compile(schema: dict[str, Any]) -> Callable[[Any], Any]:
    # use_default=False: a compiled validator would otherwise write the schemas' defaults into the payload
    return fastjsonschema.compile(
        schema, use_default=False, formats={"date-time": _is_ocpp_datetime}, detailed_exceptions=False
    )


class SchemaSet:
    """Request and response validators of one OCPP version, keyed by action."""

    def __init__(
        self, folder: str, request_suffix: str, draft: type[Validator] = Draft4Validator,
        faults: dict[str, Fault] = FAULT_BY_KEYWORD,
    ) -> None:
        self.faults = faults
        self.requests: dict[str, Validator] = {}
        self.responses: dict[str, Validator] = {}
        self.fast_requests: dict[str, Callable[[Any], Any]] = {}
        self.fast_responses: dict[str, Callable[[Any], Any]] = {}
        for path in sorted((SCHEMA_ROOT / folder / "schemas").glob("*.json")):
            name = path.stem
            schema = json.loads(path.read_text(encoding="utf-8-sig"))
            fast = _compile(schema)  # it reads the draft from "$schema"; jsonschema is told it by ``draft``
            schema.pop("$schema", None)
            validator = draft(schema, format_checker=_format_checker)
            if name.endswith("Response"):
                self.responses[name.removesuffix("Response")] = validator
                self.fast_responses[name.removesuffix("Response")] = fast
            elif name.endswith(request_suffix):
                action = name.removesuffix(request_suffix) if request_suffix else name
                self.requests[action] = validator
                self.fast_requests[action] = fast

    def knows(self, action: str) -> bool:
        return action in self.requests

    def check_request(self, action: str, unique_id: str, payload: dict[str, Any]) -> None:
        _check(self.fast_requests[action], self.requests[action], unique_id, payload, self.faults)

    def check_response(self, action: str, unique_id: str, payload: dict[str, Any]) -> None:
        _check(self.fast_responses[action], self.responses[action], unique_id, payload, self.faults)


def _check(
    fast: Callable[[Any], Any], validator: Validator, unique_id: str, payload: dict[str, Any],
    faults: dict[str, Fault],
) -> None:
    try:
        fast(payload)
        return
    except fastjsonschema.JsonSchemaException:
        pass  # invalid: jsonschema names the error, as it always did
    except Exception:  # noqa: BLE001 - a compiled check tripping on odd input must not decide; jsonschema does
        log.debug("compiled validator failed on a payload; jsonschema decides", exc_info=True)
    error = jsonschema.exceptions.best_match(validator.iter_errors(payload))
    if error is None:
        return
    fault = faults.get(str(error.validator), Fault.PROPERTY)
    where = "/".join(str(p) for p in error.absolute_path) or "payload"
    raise FrameError(fault, f"{where}: {error.message}"[:255], unique_id, {"path": where, "keyword": error.validator})


V16 = "ocpp1.6"
V201 = "ocpp2.0.1"
_loaded: dict[str, SchemaSet] = {}


def load(dialect: str) -> SchemaSet:
    """Compile once per process; call at start-up so no request pays for it."""
    if dialect not in _loaded:
        if dialect == V16:
            _loaded[dialect] = SchemaSet("v16", "")
        elif dialect == V201:
            _loaded[dialect] = SchemaSet("v201", "Request", Draft6Validator, FAULT_BY_KEYWORD_V201)
        else:
            raise ValueError(f"no schemas for {dialect}")
    return _loaded[dialect]
