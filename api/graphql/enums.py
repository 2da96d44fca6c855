"""Domain enumerations exposed in the schema (values are the domain's; names are GraphQL's)."""

from enum import Enum

import strawberry

from api.charging.dto import AuthorizationStatus as _AuthorizationStatus
from api.models import enums

StationKind = strawberry.enum(enums.StationKind, description="Charging station or battery-swap station.")
RegistrationStatus = strawberry.enum(enums.RegistrationStatus)
ConnectorType = strawberry.enum(enums.ConnectorType, description="Plug standard of a connector (GB/T first).")
ConnectorStatus = strawberry.enum(enums.ConnectorStatus)
SessionStatus = strawberry.enum(enums.SessionStatus)
ChargingPhase = strawberry.enum(
    enums.ChargingPhase, description="Phase of a DC fast charge (GB/T 27930); AC sessions go straight to CHARGING."
)
AuthorizationStatus = strawberry.enum(_AuthorizationStatus)
Role = strawberry.enum(enums.Role, description="What a person may do, over the scope of the grant.")
Availability = strawberry.enum(enums.Availability, description="Operative (unlocked) or inoperative (locked).")
IdTagStatus = strawberry.enum(enums.IdTagStatus)
IdTagKind = strawberry.enum(enums.IdTagKind, description="RFID card, app token, or a vehicle's VIN.")


@strawberry.enum(description="A measurand kept as a column of every meter sample, with its unit in the name.")
class Measurand(Enum):
    ENERGY_WH = "energy_wh"
    POWER_W = "power_w"
    CURRENT_MA = "current_ma"
    VOLTAGE_MV = "voltage_mv"
    SOC_PCT = "soc_pct"
    TEMPERATURE_DECIC = "temperature_decic"
AccessMode = strawberry.enum(
    enums.AccessMode,
    description="Who a station admits: PUBLIC anyone with a valid card; PRIVATE its allow-list (cards, people, "
    "fleets); FLEET_ONLY cards of its allowed fleets; CLOSED nobody.",
)
AccessRuleEffect = strawberry.enum(enums.AccessRuleEffect, description="Allow-list or block-list line.")
