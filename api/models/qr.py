"""QR entry: the stable, unguessable code printed on each connector (``{public_url}/q/{code}``)."""

from tortoise import fields
from tortoise.models import Model


class ConnectorCode(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)
    """10 random characters of Crockford's base32 (no I, L, O, U): printed on the sticker, never reused."""
    charge_point: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.ChargePoint", related_name="connector_codes", on_delete=fields.CASCADE
    )
    charge_point_id: str
    connector_no = fields.SmallIntField()
    """OCPP connectorId (1-based) on that pile."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "connector_code"
        unique_together = (("charge_point", "connector_no"),)
