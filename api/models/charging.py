"""Charging sessions (one OCPP transaction each) and the timeline of their DC phases."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import ChargingPhase, SessionStatus


class ChargingSession(Model):
    id = fields.IntField(primary_key=True)
    """Also the OCPP 1.6 transactionId we hand to the pile."""
    pile_transaction_id = fields.CharField(max_length=36, null=True)
    """The transactionId an OCPP 2.0.1 pile chose for this session (None for 1.6, where ``id`` is it)."""
    charge_point: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.ChargePoint", related_name="sessions", on_delete=fields.RESTRICT
    )
    charge_point_id: str
    connector: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Connector", related_name="sessions", on_delete=fields.RESTRICT
    )
    connector_id: int
    station_id = fields.IntField(null=True)
    """Copied from the pile at start so history by station is one indexed read."""
    id_tag = fields.CharField(max_length=64, default="")
    id_tag_status = fields.CharField(max_length=16, default="accepted")
    """What we answered for the id tag at start; a pile stops a session whose tag was not accepted."""
    vehicle: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Vehicle", related_name="sessions", null=True, on_delete=fields.SET_NULL
    )
    vehicle_id: int | None
    vin = fields.CharField(max_length=17, null=True)
    status = fields.CharEnumField(SessionStatus, max_length=16, default=SessionStatus.ACTIVE)
    phase = fields.CharEnumField(ChargingPhase, max_length=16, null=True)
    started_at = fields.DatetimeField()
    """Start time as the pile reported it (UTC)."""
    stopped_at = fields.DatetimeField(null=True)
    meter_start_wh = fields.BigIntField()
    meter_stop_wh = fields.BigIntField(null=True)
    energy_wh = fields.BigIntField(default=0)
    """Energy delivered so far (stop or latest register minus start), in Wh."""
    soc_start_pct = fields.SmallIntField(null=True)
    soc_end_pct = fields.SmallIntField(null=True)
    """Latest SoC while active; SoC at the end once completed."""
    max_power_w = fields.IntField(default=0)
    stop_reason = fields.CharField(max_length=32, null=True)
    anomaly = fields.CharField(max_length=48, null=True)
    """A meter anomaly seen in this session (e.g. ``meter_stop_below_start``); billing reviews it."""
    stop_id_tag = fields.CharField(max_length=64, null=True)
    reservation_id = fields.IntField(null=True)
    last_sample_at = fields.DatetimeField(null=True)
    """The newest sample's time as the pile reported it (the pile's clock, clamped to not after receipt)."""
    last_heard_at = fields.DatetimeField(null=True)
    """When the platform last received anything of this session from its pile, on our own clock: the stale
    rule reads this, so a pile whose clock runs slow or fast is not closed too early or too late."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "charging_session"
        indexes = (
            ("station_id", "started_at"),
            ("charge_point_id", "started_at"),
            ("connector_id", "status"),
            ("id_tag", "started_at"),
        )
        unique_together = (("charge_point", "pile_transaction_id"),)


class SessionPhaseChange(Model):
    id = fields.BigIntField(primary_key=True)
    session: fields.ForeignKeyRelation[ChargingSession] = fields.ForeignKeyField(
        "models.ChargingSession", related_name="phase_changes", on_delete=fields.CASCADE
    )
    session_id: int
    phase = fields.CharEnumField(ChargingPhase, max_length=16)
    at = fields.DatetimeField()
    source = fields.CharField(max_length=32)
    """What told us: ``status``, ``data_transfer``, ``meter`` or ``transaction``."""

    class Meta:
        table = "session_phase_change"
        indexes = (("session_id", "at"),)
