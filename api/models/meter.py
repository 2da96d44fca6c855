"""Meter samples: one row per sampled instant of a connector, with the common measurands as columns.

A session's trend is one read of the ``(session_id, ts)`` index; everything not in a column (other
measurands, per-phase values, locations) is kept in ``extra`` so no reported value is lost. The unique
key makes a pile's retransmission of an already stored instant a no-op.
"""

from tortoise import fields
from tortoise.models import Model


class MeterSample(Model):
    id = fields.BigIntField(primary_key=True)
    charge_point_id = fields.CharField(max_length=48)
    connector_no = fields.SmallIntField()
    session_id = fields.IntField(null=True)
    ts = fields.DatetimeField()
    """When the pile sampled (UTC)."""
    context = fields.CharField(max_length=24, default="Sample.Periodic")
    energy_wh = fields.BigIntField(null=True)
    """Energy.Active.Import.Register, Wh (a lifetime register, not the session's energy)."""
    power_w = fields.IntField(null=True)
    """Power.Active.Import, W."""
    current_ma = fields.IntField(null=True)
    """Current.Import, mA (the largest phase when only per-phase values are reported)."""
    voltage_mv = fields.IntField(null=True)
    """Voltage, mV (the mean of the phases when only per-phase values are reported)."""
    soc_pct = fields.SmallIntField(null=True)
    """State of charge, %."""
    temperature_decic = fields.IntField(null=True)
    """Temperature, in tenths of a degree Celsius."""
    extra = fields.JSONField(null=True)
    """Every other sampled value, keyed ``measurand[@phase][@location]`` -> {"value", "unit"}."""

    class Meta:
        table = "meter_sample"
        unique_together = (("charge_point_id", "connector_no", "ts", "context"),)
        indexes = (("session_id", "ts"),)
