from django.db import migrations

# Kinds of unit named in the product brief; offices add their own in the admin.
KINDS = [
    ("party_office", "党委办公厅（室）"),
    ("gov_office", "政府办公厅（室）"),
    ("emergency", "应急管理"),
    ("public_security", "公安"),
    ("health", "卫生健康"),
    ("environment", "生态环境"),
    ("transport", "交通运输"),
    ("education", "教育"),
    ("propaganda", "宣传"),
    ("cyberspace", "网信"),
    ("natural_resources", "自然资源"),
    ("water", "水利"),
    ("meteorology", "气象"),
    ("market", "市场监管"),
    ("media", "媒体"),
    ("university", "高校"),
    ("enterprise", "企业"),
    ("township", "乡镇（街道）"),
    ("other", "其他"),
]


def add_kinds(apps, schema_editor):
    UnitKind = apps.get_model("org", "UnitKind")
    for order, (code, name) in enumerate(KINDS, start=1):
        UnitKind.objects.update_or_create(code=code, defaults={"name": name, "sort_order": order * 10})


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(add_kinds, migrations.RunPython.noop)]
