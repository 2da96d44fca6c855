"""Who may charge where: a station's access policy, its allow- and block-list, and each pile's local list."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import AccessMode, AccessRuleEffect


class StationAccessPolicy(Model):
    id = fields.IntField(primary_key=True)
    station: fields.OneToOneRelation = fields.OneToOneField(
        "models.Station", related_name="access_policy", on_delete=fields.CASCADE
    )
    station_id: int
    mode = fields.CharEnumField(AccessMode, max_length=16, default=AccessMode.PUBLIC)
    """Who is admitted outside every time window."""
    schedule = fields.JSONField(default=list)
    """Time windows in Asia/Shanghai time, first match wins: ``[{"days": [1..7], "from": "HH:MM", "to": "HH:MM",
    "mode": "private"}]`` (ISO weekdays; ``to`` before ``from`` runs past midnight)."""
    revision = fields.IntField(default=0)
    """Bumped by every change of the policy or its rules."""
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "station_access_policy"


class StationAccessRule(Model):
    """One line of a station's allow-list or block list: an id tag, a person (all their cards and vehicles) or
    a fleet (all its cards)."""

    id = fields.IntField(primary_key=True)
    station: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Station", related_name="access_rules", on_delete=fields.CASCADE
    )
    station_id: int
    effect = fields.CharEnumField(AccessRuleEffect, max_length=8)
    id_tag = fields.CharField(max_length=20, null=True)
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="access_rules", null=True, on_delete=fields.CASCADE
    )
    user_id: int | None
    fleet: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Fleet", related_name="access_rules", null=True, on_delete=fields.CASCADE
    )
    fleet_id: int | None
    note = fields.CharField(max_length=128, default="")
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_access_rule"
        indexes = (("station_id", "effect"), ("id_tag",), ("user_id",), ("fleet_id",))


class LocalListState(Model):
    """What we believe a pile's local authorization list holds (the last list it accepted)."""

    charge_point: fields.OneToOneRelation = fields.OneToOneField(
        "models.ChargePoint", related_name="local_list", on_delete=fields.CASCADE, primary_key=True
    )
    charge_point_id: str
    version = fields.IntField(default=0)
    """The pile's listVersion after our last accepted SendLocalList."""
    entries = fields.JSONField(default=dict)
    """``{idTag: {"status": "Accepted"|"Blocked"|..., "expires": ISO 8601 | null, "parent": str | null}}``."""
    in_sync = fields.BooleanField(default=False)
    """False: the pile may hold something else, so the next push replaces the whole list."""
    supported = fields.BooleanField(default=True)
    """False once the pile said it has no local list (NotSupported, or listVersion -1)."""
    last_status = fields.CharField(max_length=32, default="")
    synced_at = fields.DatetimeField(null=True)

    class Meta:
        table = "local_list_state"
