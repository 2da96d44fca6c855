"""The money side of charging: partners and their shares, orders, settlement steps, top-ups, and the inbox of
provider notifications."""

from tortoise import fields
from tortoise.models import Model


class Partner(Model):
    """Someone who shares in a station's revenue (物业 property company, 代理商 agent, site owner)."""

    id = fields.IntField(primary_key=True)
    operator_id = fields.IntField()
    name = fields.CharField(max_length=128)
    user_id = fields.IntField(null=True, db_index=True)
    """The partner's own login, to read its statement."""
    wechat_account_type = fields.CharField(max_length=16, default="")
    """MERCHANT_ID or PERSONAL_OPENID; empty: not a WeChat Pay receiver."""
    wechat_account = fields.CharField(max_length=64, default="")
    wechat_name = fields.CharField(max_length=128, default="")
    alipay_account_type = fields.CharField(max_length=16, default="")
    """userId, loginName or openId; empty: not an Alipay royalty receiver."""
    alipay_account = fields.CharField(max_length=64, default="")
    alipay_name = fields.CharField(max_length=128, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "partner"


class RevenueShareRule(Model):
    """A partner's share of a station's orders, in basis points, from ``effective_from`` (inclusive) to
    ``effective_to`` (exclusive, open when null)."""

    id = fields.IntField(primary_key=True)
    station_id = fields.IntField(db_index=True)
    partner: fields.ForeignKeyRelation[Partner] = fields.ForeignKeyField(
        "models.Partner", related_name="rules", on_delete=fields.RESTRICT
    )
    partner_id: int
    share_bp = fields.IntField()
    effective_from = fields.DatetimeField()
    effective_to = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "revenue_share_rule"


class ChargingOrder(Model):
    id = fields.BigIntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    """Our idempotency key at the provider, built from our id."""
    user_id = fields.IntField(db_index=True)
    station_id = fields.IntField(db_index=True)
    operator_id = fields.IntField()
    charge_point_id = fields.CharField(max_length=48)
    connector_no = fields.SmallIntField()
    id_tag = fields.CharField(max_length=20)
    """The driver's app token the pile is started with."""
    method = fields.CharField(max_length=16)
    """wechatpay | alipay | sandbox | wallet"""
    status = fields.CharField(max_length=24, db_index=True)
    cap_fen = fields.BigIntField()
    paid_fen = fields.BigIntField(default=0)
    transaction_id = fields.CharField(max_length=64, null=True)
    profit_sharing = fields.BooleanField(default=False)
    """Paid with funds frozen for delayed profit sharing."""
    session_id = fields.IntField(null=True, db_index=True)
    cost_fen = fields.BigIntField(default=0)
    """The session's cost by its tariff (live while charging)."""
    due_fen = fields.BigIntField(null=True)
    """What the driver pays: min(cost, paid), or an operator's correction."""
    refund_fen = fields.BigIntField(default=0)
    shared_fen = fields.BigIntField(default=0)
    """Sent to partners by the provider's profit sharing."""
    allocated_fen = fields.BigIntField(default=0)
    """Credited to partners' sub-accounts by allocation transfers."""
    cost_detail = fields.JSONField(null=True)
    quarantine_reason = fields.CharField(max_length=255, default="")
    review_note = fields.CharField(max_length=255, default="")
    failure = fields.CharField(max_length=255, default="")
    failure_code = fields.CharField(max_length=32, default="")
    """Why the order failed or was cancelled, as a stable code the apps can branch on (``failure`` is the
    human-readable detail); empty while nothing failed."""
    paid_at = fields.DatetimeField(null=True)
    start_requested_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "charging_order"


class SettlementStep(Model):
    """One step of settling an order (or a top-up), done at most once, by its idempotency key."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.BigIntField(db_index=True)
    kind = fields.CharField(max_length=16)
    """refund | share | finish | capture | release | allocate"""
    key = fields.CharField(max_length=64, unique=True)
    """The provider idempotency key (out_refund_no / out_order_no) or the ledger entry's key."""
    amount_fen = fields.BigIntField()
    status = fields.CharField(max_length=16, default="planned")
    """planned | pending | succeeded | failed"""
    detail = fields.JSONField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=255, default="")
    not_before = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "settlement_step"


class TopUp(Model):
    id = fields.BigIntField(primary_key=True)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    user_id = fields.IntField(db_index=True)
    method = fields.CharField(max_length=16)
    amount_fen = fields.BigIntField()
    status = fields.CharField(max_length=16)
    """created | credited | closed"""
    transaction_id = fields.CharField(max_length=64, null=True)
    credited_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "top_up"


class PaymentInbox(Model):
    """A verified provider notification, stored once (by the provider's id) before it is acknowledged, and
    applied exactly once afterwards."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=64)
    kind = fields.CharField(max_length=16)
    out_trade_no = fields.CharField(max_length=32, db_index=True)
    payload = fields.JSONField()
    received_at = fields.DatetimeField(auto_now_add=True)
    handled_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=255, default="")

    class Meta:
        table = "payment_inbox"
        unique_together = (("provider", "external_id"),)
