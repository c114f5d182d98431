"""Default issuing rules (editable in the admin, 预警发布权限): red and orange warnings are
issued by a province-level (or national) body, yellow and blue by a city or county one, as
provincial emergency plans divide them. Approval: the issuing unit's 领导小组组长 / 副组长;
for yellow and blue also its 领导小组办公室."""

from django.db import migrations

HIGH = ["national", "province"]
LOW = ["city", "county"]
LEADERS = ["group_leader", "group_deputy"]
RULES = [
    (1, HIGH, LEADERS, "红色（Ⅰ级）预警由省级人民政府或其授权部门发布"),
    (2, HIGH, LEADERS, "橙色（Ⅱ级）预警由省级人民政府或其授权部门发布"),
    (3, LOW, [*LEADERS, "group_office"], "黄色（Ⅲ级）预警由市、县级人民政府或其授权部门发布"),
    (4, LOW, [*LEADERS, "group_office"], "蓝色（Ⅳ级）预警由市、县级人民政府或其授权部门发布"),
]


def add_rules(apps, schema_editor):
    IssuingRule = apps.get_model("alerts", "IssuingRule")
    for level, issuers, approvers, note in RULES:
        IssuingRule.objects.update_or_create(
            level=level,
            defaults={"issuer_levels": issuers, "approver_roles": approvers, "note": note},
        )


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_initial")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
