"""Default response levels, from the 意识形态问题紧急处置预案 (四、（二）应急响应):

Ⅰ (红色预警) 领导小组全体成员立即进入应急状态 — the group leader with the members;
Ⅱ (橙色) 领导小组副组长带领相关部门负责人; Ⅲ (黄色) 领导小组办公室主任负责组织;
Ⅳ (蓝色) 由涉事部门负责人负责跟踪 — the responsible department's head.
The end (四、（四）应急结束): 领导小组 approves, here its 组长 or 副组长.
"""

from django.db import migrations

LEADING_GROUP = ["group_leader", "group_deputy", "group_member", "group_office"]
START = [*LEADING_GROUP, "duty_officer"]
END = ["group_leader", "group_deputy"]

PLANS = [
    (
        1,
        ["group_leader", "group_member"],
        False,
        True,
        "领导小组全体成员立即进入应急状态，全面指挥和协调应急处置工作；各部门按照职责分工，"
        "迅速开展应急处置工作，采取一切必要措施控制事态发展。",
    ),
    (
        2,
        ["group_deputy"],
        False,
        True,
        "领导小组副组长带领相关部门负责人迅速开展应急处置工作，及时向组长报告工作进展情况；"
        "加强监测和分析，采取有效措施防止事态扩大。",
    ),
    (
        3,
        ["group_office"],
        False,
        False,
        "领导小组办公室主任负责组织相关部门开展应急处置工作，密切关注事态动态，"
        "及时发布权威信息，回应社会关切。",
    ),
    (
        4,
        [],
        True,
        False,
        "由涉事部门负责人负责跟踪关注，做好信息收集和分析工作，及时向领导小组办公室报告情况，"
        "根据需要采取相应的防范措施。",
    ),
]


def create(apps, schema_editor):
    LevelPlan = apps.get_model("response", "LevelPlan")
    for level, lead, department_head, urgent, duties in PLANS:
        LevelPlan.objects.update_or_create(
            level=level,
            defaults={
                "lead_roles": lead,
                "department_head": department_head,
                "start_roles": START,
                "end_roles": END,
                "urgent": urgent,
                "duties": duties,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("response", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
