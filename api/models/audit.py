"""The audit trail: who did what, when, to what, and what the pile answered."""

from tortoise import fields
from tortoise.models import Model


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField()
    actor_id = fields.IntField(null=True)
    """The person (``User``); null for the platform itself (e.g. desired state re-applied after a boot)."""
    actor_name = fields.CharField(max_length=64)
    """Kept as it was when the action happened."""
    action = fields.CharField(max_length=48)
    """Dotted, e.g. ``pile.remote_start``, ``station.lock``, ``policy.change``, ``file.upload``."""
    operator_id = fields.IntField(null=True)
    station_id = fields.IntField(null=True)
    charge_point_id = fields.CharField(max_length=48, null=True)
    target = fields.CharField(max_length=128, default="")
    """What was acted on, in words (``connector 2``, ``file 17 v3``...)."""
    details = fields.JSONField(default=dict)
    """The arguments of the action."""
    outcome = fields.CharField(max_length=16)
    """``accepted``, ``rejected``, ``offline``, ``timed_out``, ``error``, ``done`` or ``forbidden``."""
    result = fields.JSONField(default=dict)
    """The pile's answer (status word, message) or what changed."""

    class Meta:
        table = "audit_entry"
        indexes = (("station_id", "at"), ("actor_id", "at"), ("charge_point_id", "at"), ("action", "at"))
