from django.db import migrations


def drop_per_hand_pins(apps, schema_editor) -> None:
    """Poker pins stored before poker pools were rated per match were measured from single hands: a
    scale of their own. Without them the shipped per-match values are in force until the next
    `manage.py anchors measure`."""
    AnchorPin = apps.get_model("arena", "AnchorPin")
    AnchorPin.objects.filter(game__in=("leduc_holdem", "texas_holdem", "texas_holdem_no_limit")).delete()


class Migration(migrations.Migration):
    dependencies = [("arena", "0013_failures")]

    operations = [migrations.RunPython(drop_per_hand_pins, migrations.RunPython.noop)]
