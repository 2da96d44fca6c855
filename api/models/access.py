"""Who charges: id tags (RFID cards, app tokens, VINs) and vehicles."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import IdTagKind, IdTagStatus


class Vehicle(Model):
    id = fields.IntField(primary_key=True)
    vin = fields.CharField(max_length=17, null=True, unique=True)
    plate = fields.CharField(max_length=16, null=True)
    owner: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="vehicles", null=True, on_delete=fields.SET_NULL
    )
    owner_id: int | None
    vin_charging = fields.BooleanField(default=False)
    """Enrolled by the platform: its VIN alone starts charging (即插即充). A car merely seen (its VIN reported by a
    pile) is recorded but not enrolled, or every car that once plugged in would charge for free."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "vehicle"


class DriverVehicle(Model):
    """A vehicle a driver lists in the mini-program (plate, VIN), for their own records and receipts.

    A declaration, not a proof: it grants nothing. Only ``Vehicle`` (a car as piles report it, owned when the
    platform says so) admits or shows sessions, so listing someone else's VIN reveals and opens nothing."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation = fields.ForeignKeyField("models.User", related_name="driver_vehicles")
    user_id: int
    plate = fields.CharField(max_length=10, null=True)
    vin = fields.CharField(max_length=17, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "driver_vehicle"


class IdTag(Model):
    id = fields.IntField(primary_key=True)
    tag = fields.CharField(max_length=20, unique=True)
    """OCPP 1.6 IdToken (CiString20)."""
    kind = fields.CharEnumField(IdTagKind, max_length=8, default=IdTagKind.RFID)
    status = fields.CharEnumField(IdTagStatus, max_length=16, default=IdTagStatus.ACCEPTED)
    expires_at = fields.DatetimeField(null=True)
    parent_tag = fields.CharField(max_length=20, null=True)
    vehicle: fields.ForeignKeyNullableRelation[Vehicle] = fields.ForeignKeyField(
        "models.Vehicle", related_name="id_tags", null=True, on_delete=fields.SET_NULL
    )
    vehicle_id: int | None
    user: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.User", related_name="id_tags", null=True, on_delete=fields.SET_NULL
    )
    user_id: int | None
    """The person the card is assigned to."""
    fleet: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Fleet", related_name="id_tags", null=True, on_delete=fields.SET_NULL
    )
    fleet_id: int | None
    """The fleet the card belongs to (billed to the fleet)."""
    operator: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Operator", related_name="id_tags", null=True, on_delete=fields.SET_NULL
    )
    operator_id: int | None
    """The operator that issued the card (null: issued by the platform)."""
    blocked_reason = fields.CharField(max_length=128, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "id_tag"
