"""Operators and their stations (sites). Coordinates are GCJ-02, as WeChat and Alipay maps use."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import StationKind


class Operator(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "operator"


class Station(Model):
    id = fields.IntField(primary_key=True)
    operator: fields.ForeignKeyRelation[Operator] = fields.ForeignKeyField(
        "models.Operator", related_name="stations", on_delete=fields.RESTRICT
    )
    operator_id: int
    name = fields.CharField(max_length=128)
    kind = fields.CharEnumField(StationKind, max_length=16, default=StationKind.CHARGING)
    latitude = fields.FloatField()
    """GCJ-02 latitude in degrees."""
    longitude = fields.FloatField()
    """GCJ-02 longitude in degrees."""
    address = fields.CharField(max_length=255, default="")
    city = fields.CharField(max_length=64, default="")
    opening_hours = fields.CharField(max_length=64, default="00:00-24:00")
    """Local (Asia/Shanghai) opening hours, ``HH:MM-HH:MM``; ``00:00-24:00`` is always open."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station"
        indexes = (("latitude", "longitude"),)
