from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    # The head row exists before the first write, so two processes making the very first
    # audited change at once both lock it instead of racing to create it.
    AuditHead = apps.get_model("core", "AuditHead")
    AuditHead.objects.get_or_create(pk=1, defaults={"seq": 0, "hash": GENESIS_HASH})


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
