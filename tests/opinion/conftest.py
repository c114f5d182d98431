"""Opinion fixtures: a small tree with analysts, and fresh near-duplicate and topic indexes
per test (the indexes are process state; each test's database starts empty)."""

from types import SimpleNamespace

import pytest

from fenghuo.opinion import dedup, topics
from fenghuo.org.models import AdminLevel, Role


@pytest.fixture(autouse=True)
def _fresh_dedup_index(monkeypatch):
    monkeypatch.setattr(dedup, "INDEX", dedup.Index())
    monkeypatch.setattr(topics, "INDEX", topics.Index())


@pytest.fixture
def world(make_unit, make_person):
    province = make_unit("示范省应急管理厅", level=AdminLevel.PROVINCE, division_code="990000")
    city = make_unit("临江市应急管理局", province, level=AdminLevel.CITY, division_code="990100")
    other = make_unit("东山市应急管理局", province, level=AdminLevel.CITY, division_code="990200")
    return SimpleNamespace(
        province=province,
        city=city,
        other=other,
        province_analyst=make_person("p_analyst", province, Role.ANALYST),
        city_analyst=make_person("c_analyst", city, Role.ANALYST),
        other_analyst=make_person("o_analyst", other, Role.ANALYST),
        city_duty=make_person("c_duty", city, Role.DUTY_OFFICER),
        city_reporter=make_person("c_reporter", city, Role.REPORTER),
    )


def post(post_id: str, text: str, **extra) -> dict:
    return {
        "platform": extra.pop("platform", "weibo"),
        "post_id": post_id,
        "text": text,
        "published_at": "2026-11-23T09:10:00+08:00",
        **extra,
    }
