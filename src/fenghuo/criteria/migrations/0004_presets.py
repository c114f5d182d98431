"""Preset reporting criteria, as data every installation starts with (editable afterwards:
make a new version with 复制为新版本 and change that).

Deadlines are minutes from when the event became known, cumulative up the levels.
"""

from datetime import date, datetime, timedelta, timezone

from django.db import migrations

CST = timezone(timedelta(hours=8))
ALL_LEVELS = ("county", "city", "province", "national")


def written(*minutes_by_level):
    """[(level, None, minutes)] for county, city, … in order: no phone report required."""
    return [(level, None, m) for level, m in zip(ALL_LEVELS, minutes_by_level, strict=False)]


def both(*pairs):
    """[(level, phone, written)] for county, city, … in order."""
    return [(level, p, w) for level, (p, w) in zip(ALL_LEVELS, pairs, strict=False)]


PRODUCTION_SAFETY = {
    "code": "production-safety",
    "name": "生产安全事故报告和调查处理条例",
    "effective_from": datetime(2007, 6, 1, tzinfo=CST),
    "basis": (
        "国务院令第493号。第三条：特别重大事故（死亡30人以上，或重伤100人以上，或直接经济损失"
        "1亿元以上）、重大事故（10人以上30人以下死亡，或50人以上100人以下重伤，或5000万元以上"
        "1亿元以下）、较大事故（3人以上10人以下死亡，或10人以上50人以下重伤，或1000万元以上"
        "5000万元以下）、一般事故（3人以下死亡，或10人以下重伤，或1000万元以下）；"
        "“以上”包括本数，“以下”不包括本数。第九条至第十一条：单位负责人1小时内报告县级以上"
        "安全生产监督管理部门；逐级上报每级不超过2小时；特别重大、重大事故报至国务院安全生产"
        "监督管理部门，较大事故报至省级，一般事故报至设区的市级。"
        "时限自接到报告时起算，按层级累计。"
    ),
    "categories": ["work_safety", "hazchem", "construction", "road_traffic", "fire"],
    "note": "第三条、第九条至第十一条",
    "base_grade": 4,
    "thresholds": {
        1: {"dead": 30, "seriously_injured": 100, "economic_loss": 10000},
        2: {"dead": 10, "seriously_injured": 50, "economic_loss": 5000},
        3: {"dead": 3, "seriously_injured": 10, "economic_loss": 1000},
    },
    "targets": {
        1: written(60, 180, 300, 420),
        2: written(60, 180, 300, 420),
        3: written(60, 180, 300),
        4: written(60, 180),
    },
    # 第十三条: casualties may change within 30 days; the final report closes that window.
    "results": {1: (24, 30), 2: (24, 30), 3: (24, 30), 4: (24, 30)},
    "factors": [],
}

PUBLIC_HEALTH = {
    "code": "public-health",
    "name": "突发公共卫生事件应急条例",
    "effective_from": datetime(2011, 1, 8, tzinfo=CST),
    "basis": (
        "国务院令第376号（2011年修订）。第十九条、第二十条：发现传染病暴发流行、不明原因群体性"
        "疾病、菌种毒种丢失、重大食物和职业中毒等情形的，2小时内报告县级卫生行政主管部门；"
        "县级、设区的市级人民政府各在2小时内向上一级报告；省级人民政府在接到报告1小时内向"
        "国务院卫生行政主管部门报告。分级参照《国家突发公共卫生事件应急预案》（如食物中毒："
        "死亡10例以上为重大，出现死亡病例或中毒100人以上为较大）。时限按层级累计。"
    ),
    "categories": ["health"],
    "note": "第十九条、第二十条",
    "base_grade": 4,
    "thresholds": {
        2: {"dead": 10},
        3: {"dead": 1, "injured": 100},
    },
    "targets": {g: written(120, 240, 360, 420) for g in (1, 2, 3, 4)},
    "results": {g: (24, 14) for g in (1, 2, 3, 4)},
    "factors": [],
}

LOCAL_TEMPLATE = {
    "code": "local-emergency-info",
    "name": "紧急信息报送范围和标准（地方模板）",
    "effective_from": datetime(2020, 1, 1, tzinfo=CST),
    "basis": (
        "地方党委、政府值班室紧急信息报送标准的模板，请按本地区文件修改后启用新版本，"
        "并在“适用范围”中选择本地区的单位。其他预置标准没有专门规定的类别按本模板定级。"
        "例：死亡3人以上，或重伤5人以上，或直接经济损失1000万元以上的，30分钟内电话报告、"
        "1小时内书面报告至省委值班室。"
    ),
    "categories": [None],
    "note": "兜底：其他标准未覆盖的类别",
    "base_grade": None,
    "thresholds": {
        1: {"dead": 30, "missing": 30, "seriously_injured": 100, "economic_loss": 10000,
            "evacuated": 100000},
        2: {"dead": 10, "missing": 10, "seriously_injured": 50, "economic_loss": 5000,
            "evacuated": 10000},
        3: {"dead": 3, "missing": 3, "seriously_injured": 5, "economic_loss": 1000,
            "evacuated": 1000},
        4: {"dead": 1, "missing": 1, "seriously_injured": 3, "injured": 10, "economic_loss": 100,
            "affected": 100, "evacuated": 100},
    },
    "targets": {
        1: both((30, 60), (30, 60), (30, 60), (30, 60)),
        2: both((30, 60), (30, 60), (30, 60), (30, 60)),
        3: both((30, 60), (30, 60), (30, 60)),
        4: both((30, 60), (60, 120)),
    },
    "results": {1: (4, 15), 2: (4, 15), 3: (12, 7), 4: (24, 7)},
    "factors": [
        {
            "kind": "sensitive_identity",
            "effect": "raise",
            "words": "学生、师生、未成年人、儿童、外籍、外国人、境外、港澳台、记者、人大代表、"
            "政协委员、宗教人士、军人、退役军人、领导干部、公职人员、知名人士",
        },
        {
            "kind": "extreme_behaviour",
            "effect": "raise",
            "words": "自焚、跳楼、跳桥、跳河、持刀、砍人、投毒、纵火、爆炸物、劫持、自杀、扬言",
        },
        {"kind": "sensitive_place", "effect": "attention"},
        {"kind": "sensitive_time", "effect": "attention", "use_holidays": True},
        {"kind": "long_duration_crowd", "effect": "raise", "min_affected": 50},
    ],
    "places": [
        "天安门广场", "党政机关", "政府大院", "机场", "火车站", "高铁站", "地铁站", "学校",
        "幼儿园", "医院", "使领馆", "宗教活动场所",
    ],
    "dates": [
        ("全国两会（日期以当年公布为准）", date(2020, 3, 3), date(2020, 3, 15), True),
        ("高考", date(2020, 6, 7), date(2020, 6, 10), True),
        ("建党纪念日", date(2020, 7, 1), None, True),
        ("国家公祭日", date(2020, 12, 13), None, True),
    ],
}

PRESETS = [PRODUCTION_SAFETY, PUBLIC_HEALTH, LOCAL_TEMPLATE]


def add_presets(apps, schema_editor):
    get = apps.get_model
    RuleSet, Rule = get("criteria", "RuleSet"), get("criteria", "Rule")
    Threshold, Target = get("criteria", "Threshold"), get("criteria", "Target")
    GradeResult, Factor = get("criteria", "GradeResult"), get("criteria", "SensitivityFactor")
    SensitiveDate, SensitivePlace = get("criteria", "SensitiveDate"), get("criteria", "SensitivePlace")
    EventCategory = get("criteria", "EventCategory")
    # The revision row exists from the start, so writers only ever UPDATE it (no race to
    # create it between two first writers on PostgreSQL).
    get("criteria", "Revision").objects.get_or_create(pk=1, defaults={"token": "presets"})
    for preset in PRESETS:
        ruleset, created = RuleSet.objects.get_or_create(
            code=preset["code"],
            version=1,
            defaults={
                "name": preset["name"],
                "effective_from": preset["effective_from"],
                "basis": preset["basis"],
                "is_active": True,
            },
        )
        if not created:
            continue
        for code in preset["categories"]:
            category = EventCategory.objects.filter(code=code).first() if code else None
            if code and category is None:
                continue  # an installation that removed the category before this ran
            rule = Rule.objects.create(
                ruleset=ruleset, category=category, base_grade=preset["base_grade"],
                note=preset["note"],
            )
            for grade, minima in preset["thresholds"].items():
                for figure, minimum in minima.items():
                    Threshold.objects.create(rule=rule, grade=grade, figure=figure, minimum=minimum)
            for grade, levels in preset["targets"].items():
                for level, phone, written_minutes in levels:
                    Target.objects.create(
                        rule=rule, grade=grade, level=level, phone_minutes=phone,
                        written_minutes=written_minutes,
                    )
            for grade, (followup, final) in preset["results"].items():
                GradeResult.objects.create(
                    rule=rule, grade=grade, followup_hours=followup, final_days=final
                )
        for factor in preset["factors"]:
            Factor.objects.create(ruleset=ruleset, **factor)
        for name in preset.get("places", []):
            SensitivePlace.objects.create(ruleset=ruleset, name=name)
        for name, starts_on, ends_on, every_year in preset.get("dates", []):
            SensitiveDate.objects.create(
                ruleset=ruleset, name=name, starts_on=starts_on, ends_on=ends_on,
                every_year=every_year,
            )


def remove_presets(apps, schema_editor):
    RuleSet = apps.get_model("criteria", "RuleSet")
    RuleSet.objects.filter(code__in=[p["code"] for p in PRESETS], version=1).delete()


class Migration(migrations.Migration):
    dependencies = [("criteria", "0003_rulesets")]
    operations = [migrations.RunPython(add_presets, remove_presets)]
