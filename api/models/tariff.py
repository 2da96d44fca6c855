"""Tariffs: one row per published version of a station's prices. Rows are never changed: a new price is a new
version, so every past session can be re-priced exactly as it was (api/tariff/rules.py says how).

Unit prices are integers in 0.0001 yuan (``*_price_e4``, DESIGN §3); amounts are integers in fen (``*_fen``).
"""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import TariffKind


class Tariff(Model):
    id = fields.IntField(primary_key=True)
    station: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Station", related_name="tariffs", on_delete=fields.CASCADE
    )
    station_id: int
    version = fields.IntField()
    """1, 2, 3 … per station, in the order of publication. At an instant, the highest version whose
    ``effective_from`` has come is in force."""
    effective_from = fields.DatetimeField()
    """When this version starts to apply (UTC)."""
    kind = fields.CharEnumField(TariffKind, max_length=16)
    periods = fields.JSONField(default=list)
    """Time of use only: the day in Asia/Shanghai time, contiguous from 00:00 to 24:00, in order:
    ``[{"from": "00:00", "to": "07:00", "tier": "valley"}, …]``."""
    sharp_energy_price_e4 = fields.IntField(null=True)
    """Energy fee (电费) of the SHARP tier, 0.0001 yuan per kWh; null when no period is SHARP."""
    sharp_service_price_e4 = fields.IntField(null=True)
    """Service fee (服务费) of the SHARP tier, 0.0001 yuan per kWh."""
    peak_energy_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    peak_service_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    flat_energy_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    flat_service_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    valley_energy_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    valley_service_price_e4 = fields.IntField(null=True)
    """0.0001 yuan per kWh."""
    hourly_price_e4 = fields.IntField(null=True)
    """Hourly tariffs only: 0.0001 yuan per hour of charging, prorated per second."""
    idle_price_e4 = fields.IntField(null=True)
    """Idle fee (占位费), 0.0001 yuan per whole minute plugged in after charging ended and the grace ran out;
    null: no idle fee."""
    idle_grace_min = fields.IntField(default=0)
    """Free minutes after charging ended."""
    idle_cap_fen = fields.BigIntField(null=True)
    """The most a session's idle fee can be, in fen; null: no cap."""
    note = fields.CharField(max_length=128, default="")
    """Shown with the prices (drivers see it too)."""
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tariff"
        unique_together = (("station", "version"),)
        indexes = (("station_id", "effective_from"),)
