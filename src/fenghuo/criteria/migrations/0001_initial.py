import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = [("org", "0002_unit_kinds")]
    operations = [
        migrations.CreateModel(
            name="EventCategory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("code", models.SlugField(max_length=40, unique=True, verbose_name="代码")),
                ("name", models.CharField(max_length=50, verbose_name="名称")),
                ("sort_order", models.PositiveIntegerField(default=100, verbose_name="排序")),
                ("parent", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="children", to="criteria.eventcategory", verbose_name="上级类别")),
                ("responsible_kind", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to="org.unitkind", verbose_name="主管部门类型")),
            ],
            options={"verbose_name": "事件类别", "verbose_name_plural": "事件类别", "ordering": ["sort_order", "code"]},
        ),
    ]
