from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_session_heard_order_failure_code')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Connector',
            name='status_received_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
