"""People who use ChargeOps (staff and drivers), their role grants, and fleets."""

from tortoise import fields
from tortoise.models import Model

from api.models.enums import Role


class Fleet(Model):
    """An account owning many vehicles and cards (公交集团, a taxi company...), served by one operator."""

    id = fields.IntField(primary_key=True)
    operator: fields.ForeignKeyRelation = fields.ForeignKeyField(
        "models.Operator", related_name="fleets", on_delete=fields.RESTRICT
    )
    operator_id: int
    name = fields.CharField(max_length=128)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "fleet"


class User(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    login = fields.CharField(max_length=64, null=True, unique=True)
    """Staff log in with this and a password; drivers log in through WeChat or Alipay and have none."""
    password_hash = fields.CharField(max_length=255, null=True)
    """argon2id, in the PHC string format."""
    active = fields.BooleanField(default=True)
    token_version = fields.IntField(default=0)
    """Part of every token issued; raising it revokes them all (password change, deactivation)."""
    failed_logins = fields.SmallIntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    wechat_openid = fields.CharField(max_length=64, null=True, unique=True)
    """The driver's openid in our WeChat mini-program (from wx.login); who pays by WeChat Pay."""
    alipay_user_id = fields.CharField(max_length=64, null=True, unique=True)
    """The driver's Alipay user id / open id in our Alipay mini-program; who pays by Alipay."""
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"


class RoleGrant(Model):
    """One role of one person over one scope: the platform, an operator, a station or a fleet."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants", on_delete=fields.CASCADE
    )
    user_id: int
    role = fields.CharEnumField(Role, max_length=24)
    operator: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Operator", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    operator_id: int | None
    station: fields.ForeignKeyNullableRelation = fields.ForeignKeyField(
        "models.Station", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    station_id: int | None
    fleet: fields.ForeignKeyNullableRelation[Fleet] = fields.ForeignKeyField(
        "models.Fleet", related_name="grants", null=True, on_delete=fields.CASCADE
    )
    fleet_id: int | None
    granted_by_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grant"
        unique_together = (("user", "role", "operator", "station", "fleet"),)
