from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_pile_security')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ChargePoint',
            index=Index(fields=['station_id']),
        ),
        ops.AddField(
            model_name='ChargingOrder',
            name='failure_code',
            field=fields.CharField(default='', max_length=32),
        ),
        ops.AddField(
            model_name='ChargingSession',
            name='last_heard_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
