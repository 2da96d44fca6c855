from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0002_drivers_vehicles_nodes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ChargingSession',
            name='pile_transaction_id',
            field=fields.CharField(null=True, max_length=36),
        ),
        ops.AddConstraint(
            model_name='ChargingSession',
            constraint=UniqueConstraint(fields=('charge_point', 'pile_transaction_id'), name=None),
        ),
    ]
