from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DriverVehicle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='driver_vehicles', on_delete=OnDelete.CASCADE)),
                ('plate', fields.CharField(null=True, max_length=10)),
                ('vin', fields.CharField(null=True, max_length=17)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'driver_vehicle', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A vehicle a driver lists in the mini-program (plate, VIN), for their own records and receipts.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ChargePoint',
            name='node',
            field=fields.CharField(default='', max_length=64),
        ),
        ops.AlterModelOptions(
            name='LocalListState',
            options={'table': 'local_list_state', 'app': 'models', 'pk_attr': 'charge_point_id', 'table_description': "What we believe a pile's local authorization list holds (the last list it accepted)."},
        ),
        ops.AddField(
            model_name='Vehicle',
            name='vin_charging',
            field=fields.BooleanField(default=False),
        ),
    ]
