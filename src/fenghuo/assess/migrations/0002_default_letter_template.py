"""The default inquiry-letter (函询) template, editable in the admin (函询模板)."""

from django.db import migrations

TITLE = "关于{{单位}}{{问题}}有关情况的函询"
BODY = "\n".join(
    [
        "{{单位}}：",
        "{{事件时间}}，{{事件地点}}发生{{事件}}。经核查，{{情况}}，存在{{问题}}问题。",
        "紧急信息报送事关党委、政府科学决策和应急处置。根据紧急信息报送有关规定，请你单位"
        "认真查找原因，于{{答复期限}}前在烽火系统中书面说明有关情况，并报送整改措施。",
        "特此函询。",
    ]
)


def add(apps, schema_editor):
    LetterTemplate = apps.get_model("assess", "LetterTemplate")
    LetterTemplate.objects.get_or_create(
        name="迟报漏报瞒报函询（默认）",
        defaults={"title": TITLE, "body": BODY, "answer_days": 5, "is_default": True},
    )


def remove(apps, schema_editor):
    apps.get_model("assess", "LetterTemplate").objects.filter(
        name="迟报漏报瞒报函询（默认）"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("assess", "0001_initial")]
    operations = [migrations.RunPython(add, remove)]
