"""Charge points (piles), their connectors, and the log of what piles told us outside sessions."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import Availability, ConnectorStatus, ConnectorType, RegistrationStatus


class ChargePoint(Model):
    id = fields.CharField(primary_key=True, max_length=48)
    """The OCPP charge point identity (the last path segment of its WebSocket URL)."""
    station: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Station", related_name="charge_points", null=True, on_delete=fields.RESTRICT
    )
    station_id: int | None
    registration_status = fields.CharEnumField(
        RegistrationStatus, max_length=16, default=RegistrationStatus.ACCEPTED
    )
    protocol = fields.CharField(max_length=16, default="")
    """Subprotocol of the current (or last) connection, e.g. ``ocpp1.6``."""
    vendor = fields.CharField(max_length=64, default="")
    model = fields.CharField(max_length=64, default="")
    serial_number = fields.CharField(max_length=64, default="")
    firmware_version = fields.CharField(max_length=64, default="")
    iccid = fields.CharField(max_length=32, default="")
    imsi = fields.CharField(max_length=32, default="")
    meter_type = fields.CharField(max_length=32, default="")
    meter_serial_number = fields.CharField(max_length=32, default="")
    online = fields.BooleanField(default=False)
    node = fields.CharField(max_length=64, default="")
    """The node holding the pile's socket while online (several nodes share one database)."""
    last_seen_at = fields.DatetimeField(null=True)
    connected_at = fields.DatetimeField(null=True)
    booted_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(ConnectorStatus, max_length=16, default=ConnectorStatus.UNKNOWN)
    """Status of the pile as a whole (OCPP 1.6 connectorId 0)."""
    error_code = fields.CharField(max_length=32, default="NoError")
    firmware_status = fields.CharField(max_length=32, default="")
    diagnostics_status = fields.CharField(max_length=32, default="")
    desired_availability = fields.CharEnumField(Availability, max_length=16, default=Availability.OPERATIVE)
    """What operators want for the pile as a whole (connectorId 0); re-applied after every boot."""
    availability_applied = fields.BooleanField(default=True)
    """The pile agreed to ``desired_availability`` (false while a change waits for the pile to reconnect)."""
    reported_configuration = fields.JSONField(null=True)
    """The last GetConfiguration answer: ``[{"key", "value", "readonly"}]``."""
    reported_configuration_at = fields.DatetimeField(null=True)
    security_profile = fields.SmallIntField(default=0)
    """OCPP security profile required at the handshake: 0 none (a password, when set, is still required),
    1 HTTP Basic auth, 2 TLS and Basic auth, 3 TLS with a client certificate naming the pile."""
    password_hash = fields.CharField(max_length=255, null=True)
    """argon2id hash of the pile's Basic auth password (the OCPP AuthorizationKey / BasicAuthPassword)."""
    previous_password_hash = fields.CharField(max_length=255, null=True)
    """The password replaced by the last rotation: accepted until ``previous_password_until``, or until the
    pile first authenticates with the new one."""
    previous_password_until = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "charge_point"
        indexes = (("station_id",),)
        """MySQL indexes a foreign key by itself, SQLite does not: counting a station's connectors needs it."""


class Connector(Model):
    id = fields.IntField(primary_key=True)
    charge_point: fields.ForeignKeyRelation[ChargePoint] = fields.ForeignKeyField(
        "models.ChargePoint", related_name="connectors", on_delete=fields.CASCADE
    )
    charge_point_id: str
    connector_no = fields.SmallIntField()
    """OCPP connectorId (1-based)."""
    kind = fields.CharEnumField(ConnectorType, max_length=16, default=ConnectorType.OTHER)
    max_power_w = fields.IntField(default=0)
    status = fields.CharEnumField(ConnectorStatus, max_length=16, default=ConnectorStatus.UNKNOWN)
    error_code = fields.CharField(max_length=32, default="NoError")
    vendor_error_code = fields.CharField(max_length=64, default="")
    info = fields.CharField(max_length=64, default="")
    status_at = fields.DatetimeField(null=True)
    """When the pile says the status began (its clock, clamped to ours)."""
    status_received_at = fields.DatetimeField(null=True)
    """When we received that status report, on our clock (``status_at`` is the pile's): the stale-session rule
    compares it with the pile's boot time, which is ours too."""
    desired_availability = fields.CharEnumField(Availability, max_length=16, default=Availability.OPERATIVE)
    """What operators want for this connector; re-applied after every boot."""
    availability_applied = fields.BooleanField(default=True)

    class Meta:
        table = "connector"
        unique_together = (("charge_point", "connector_no"),)


class ChargePointEvent(Model):
    """Reports a pile sends that are not part of a session: DataTransfer, firmware and diagnostics status."""

    id = fields.BigIntField(primary_key=True)
    charge_point: fields.ForeignKeyRelation[ChargePoint] = fields.ForeignKeyField(
        "models.ChargePoint", related_name="events", on_delete=fields.CASCADE
    )
    charge_point_id: str
    kind = fields.CharField(max_length=32)
    payload = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "charge_point_event"
        indexes = (("charge_point_id", "received_at"),)


class DesiredConfiguration(Model):
    """A configuration value operators set on a pile, re-applied after every boot until removed."""

    id = fields.IntField(primary_key=True)
    charge_point: fields.ForeignKeyRelation[ChargePoint] = fields.ForeignKeyField(
        "models.ChargePoint", related_name="desired_configuration", on_delete=fields.CASCADE
    )
    charge_point_id: str
    key = fields.CharField(max_length=50)
    value = fields.CharField(max_length=500)
    last_status = fields.CharField(max_length=32, default="")
    """The pile's last answer to ChangeConfiguration of this value (``Accepted``, ``RebootRequired``...)."""
    applied_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "desired_configuration"
        unique_together = (("charge_point", "key"),)


class Reservation(Model):
    """A connector held for one id tag until a time (ReserveNow), its id is the OCPP reservationId."""

    id = fields.IntField(primary_key=True)
    charge_point: fields.ForeignKeyRelation[ChargePoint] = fields.ForeignKeyField(
        "models.ChargePoint", related_name="reservations", on_delete=fields.CASCADE
    )
    charge_point_id: str
    connector_no = fields.SmallIntField()
    """0 = any connector of the pile."""
    id_tag = fields.CharField(max_length=20)
    expires_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="requested")
    """``requested``, ``accepted``, ``rejected``, ``cancelled``."""
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "reservation"
        indexes = (("charge_point_id", "status"),)
