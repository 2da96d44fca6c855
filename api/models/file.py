"""Station files (permits, wiring diagrams, inspection reports, photos, firmware, diagnostics) and their versions."""

from tortoise import fields
from tortoise.models import Model


class StationFile(Model):
    id = fields.IntField(primary_key=True)
    station: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Station", related_name="files", on_delete=fields.RESTRICT
    )
    station_id: int
    category = fields.CharField(max_length=16)
    """``permit``, ``wiring``, ``inspection``, ``photo``, ``firmware``, ``diagnostics`` or ``other``."""
    name = fields.CharField(max_length=128)
    """The cleaned display name (never used as a path)."""
    current_version = fields.IntField(default=1)
    charge_point_id = fields.CharField(max_length=48, null=True)
    """For diagnostics: the pile that uploaded it."""
    deleted_at = fields.DatetimeField(null=True)
    created_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_file"
        indexes = (("station_id", "category"),)


class StationFileVersion(Model):
    id = fields.IntField(primary_key=True)
    file: fields.ForeignKeyRelation[StationFile] = fields.ForeignKeyField(
        "models.StationFile", related_name="versions", on_delete=fields.CASCADE
    )
    file_id: int
    version = fields.IntField()
    storage_key = fields.CharField(max_length=200, unique=True)
    """Made by us from ids and a random part; the uploaded name never reaches a path or key."""
    size_bytes = fields.BigIntField()
    content_type = fields.CharField(max_length=128)
    """Found from the content, not taken from the client."""
    sha256 = fields.CharField(max_length=64)
    uploaded_by_id = fields.IntField(null=True)
    uploaded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "station_file_version"
        unique_together = (("file", "version"),)
