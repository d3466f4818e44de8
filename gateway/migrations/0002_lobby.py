from django.db import migrations


def create_lobby(apps, schema_editor):
    apps.get_model("gateway", "Room").objects.get_or_create(name="lobby", defaults={"title": "Lobby"})


class Migration(migrations.Migration):
    dependencies = [("gateway", "0001_initial")]
    operations = [migrations.RunPython(create_lobby, migrations.RunPython.noop)]
