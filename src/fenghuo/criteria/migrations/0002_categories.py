from django.db import migrations

# 《国家突发公共事件总体应急预案》's four classes plus online opinion; subcategories with
# the kind of department whose figures count first.
CATEGORIES = [
    ("natural", "自然灾害", None, [
        ("flood", "水旱灾害", "water"),
        ("weather", "气象灾害", "meteorology"),
        ("earthquake", "地震灾害", "emergency"),
        ("geological", "地质灾害", "natural_resources"),
        ("forest_fire", "森林草原火灾", "emergency"),
    ]),
    ("accident", "事故灾难", "emergency", [
        ("work_safety", "生产安全事故", "emergency"),
        ("hazchem", "危险化学品事故", "emergency"),
        ("road_traffic", "道路交通事故", "public_security"),
        ("fire", "火灾事故", "emergency"),
        ("construction", "建筑施工事故", "emergency"),
        ("pollution", "环境污染和生态破坏", "environment"),
    ]),
    ("health", "公共卫生事件", "health", [
        ("epidemic", "传染病疫情", "health"),
        ("food_safety", "食品安全事件", "market"),
        ("poisoning", "急性中毒事件", "health"),
        ("unknown_disease", "群体性不明原因疾病", "health"),
    ]),
    ("social", "社会安全事件", "public_security", [
        ("mass_incident", "群体性事件", "public_security"),
        ("criminal", "重大刑事案件", "public_security"),
        ("campus", "校园安全事件", "education"),
        ("foreign", "涉外突发事件", "gov_office"),
    ]),
    ("opinion", "网络舆情", "cyberspace", [
        ("online_opinion", "网络舆情事件", "cyberspace"),
    ]),
]


def add_categories(apps, schema_editor):
    EventCategory = apps.get_model("criteria", "EventCategory")
    UnitKind = apps.get_model("org", "UnitKind")
    kinds = {k.code: k for k in UnitKind.objects.all()}
    for top_order, (code, name, kind, children) in enumerate(CATEGORIES, start=1):
        top, _ = EventCategory.objects.update_or_create(
            code=code,
            defaults={"name": name, "sort_order": top_order * 100, "responsible_kind": kinds.get(kind)},
        )
        for order, (child_code, child_name, child_kind) in enumerate(children, start=1):
            EventCategory.objects.update_or_create(
                code=child_code,
                defaults={
                    "name": child_name,
                    "parent": top,
                    "sort_order": top_order * 100 + order,
                    "responsible_kind": kinds.get(child_kind),
                },
            )


class Migration(migrations.Migration):
    dependencies = [("criteria", "0001_initial")]
    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
