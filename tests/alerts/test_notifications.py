"""Issuing notifies the units in the area (their person on duty and their robots) and the
issuing unit's leading group, through the outbox in the same transaction; an adjustment
yellow → orange reaches the added recipients and updates the ones already notified."""

from datetime import timedelta

import pytest
from django.db import transaction

from fenghuo.alerts import services
from fenghuo.alerts.models import WarningLevel
from fenghuo.core import clock
from fenghuo.notify.models import Channel, Message
from fenghuo.org import services as org_services
from tests.alerts.world import draft, issued, principal
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db


def _inbox(key: str) -> dict[str, str]:
    """username → subject of the in-app messages with `key`."""
    return dict(
        Message.objects.filter(key=key, channel=Channel.INAPP).values_list(
            "person__username", "subject"
        )
    )


def _robots(key: str) -> dict[str, str]:
    return dict(
        Message.objects.filter(key=key, endpoint__isnull=False).values_list("unit__name", "subject")
    )


def test_issuing_notifies_the_area_and_the_leading_group(world):
    warning = draft(world)
    assert not Message.objects.exists()  # nothing before issue
    services.approve(principal(world, "city_leader"), warning)
    assert not Message.objects.exists()
    services.issue(principal(world, "city_leader"), warning)

    key = f"warning:{warning.pk}:1"
    inbox = _inbox(key)
    # 江口县 (990121): the county office's and the bureau's person on duty; the city's
    # leading group (组长, 办公室, 成员). Not 河西县, not 临海市, not the province, not the
    # city's own duty officer (the city is not in the area).
    assert set(inbox) == {"county_duty", "bureau_duty", "city_leader", "city_office", "city_member"}
    assert set(inbox.values()) == {"预警发布：临江市委办公室发布暴雨黄色预警"}
    assert _robots(key) == {"江口县委办公室": "预警发布：临江市委办公室发布暴雨黄色预警"}
    message = Message.objects.filter(key=key).first()
    assert message.link == f"/alerts/{warning.pk}/" and message.ref == f"warning:{warning.pk}"
    assert not message.urgent  # yellow
    assert "影响区域：江口县" in message.body and "应采取的措施：停止户外集体活动" in message.body


def test_the_person_on_duty_is_the_shifts_primary(world):
    moment = clock.now()
    org_services.shift_create(
        SYSTEM,
        office=world["county"],
        starts_at=moment - timedelta(hours=1),
        ends_at=moment + timedelta(hours=8),
        primary=world["people"]["county_reporter"],
    )
    warning = issued(world)
    inbox = _inbox(f"warning:{warning.pk}:1")
    assert "county_reporter" in inbox and "county_duty" not in inbox


def test_an_area_code_covers_the_divisions_below_it(world):
    warning = issued(world, area_codes=["990100"])  # the whole city
    assert {"city_duty", "county_duty", "bureau_duty", "other_duty"} <= set(
        _inbox(f"warning:{warning.pk}:1")
    )
    assert "sea_duty" not in _inbox(f"warning:{warning.pk}:1")


def test_adjusting_yellow_to_orange_notifies_the_added_recipients(world):
    yellow = issued(world)
    first = _inbox(f"warning:{yellow.pk}:1")
    # The province takes it over as orange and widens the area to 河西县.
    orange = services.adjust(
        principal(world, "prov_office"),
        yellow,
        {
            "level": WarningLevel.ORANGE,
            "issuing_unit": world["province"],
            "area_codes": ["990121", "990122"],
        },
    )
    assert not _inbox(f"warning:{yellow.pk}:2")  # nothing until it is issued
    services.approve(principal(world, "prov_leader"), orange)
    services.issue(principal(world, "prov_leader"), orange)

    second = _inbox(f"warning:{yellow.pk}:2")
    added = set(second) - set(first)
    # Added: 河西县's duty officer and the province's leading group.
    assert added == {"other_duty", "prov_leader", "prov_deputy", "prov_office", "prov_member"}
    for username in added:
        assert second[username] == "预警发布：江南省委办公厅发布暴雨橙色预警"
    # Already notified and still concerned: the update, saying what changed.
    for username in ("county_duty", "bureau_duty"):
        assert second[username] == "预警调整：江南省委办公厅发布暴雨橙色预警"
    body = Message.objects.get(
        key=f"warning:{yellow.pk}:2", person=world["people"]["county_duty"], channel="inapp"
    ).body
    assert body.startswith(
        "级别由黄色（Ⅲ级）调整为橙色（Ⅱ级）；发布单位由临江市委办公室改为江南省委办公厅"
    )
    # The city's leading group no longer issues it: told it no longer concerns them.
    for username in ("city_leader", "city_office", "city_member"):
        assert second[username] == "预警调整：江南省委办公厅发布暴雨橙色预警（不再涉及贵单位）"
    assert _robots(f"warning:{yellow.pk}:2") == {
        "江口县委办公室": "预警调整：江南省委办公厅发布暴雨橙色预警"
    }
    assert Message.objects.filter(key=f"warning:{yellow.pk}:2", urgent=True).exists()


def test_lifting_tells_everyone_the_warning_reached(world):
    warning = issued(world)
    reached = set(_inbox(f"warning:{warning.pk}:1"))
    services.lift(principal(world, "city_leader"), warning, "暴雨过程已结束。")
    lifted = _inbox(f"warning:{warning.pk}:1:lift")
    assert set(lifted) == reached
    assert set(lifted.values()) == {"预警解除：临江市委办公室发布暴雨黄色预警"}
    assert "江口县委办公室" in _robots(f"warning:{warning.pk}:1:lift")


def test_a_drill_is_marked_as_one(world):
    warning = issued(world, is_drill=True)
    subjects = set(_inbox(f"warning:{warning.pk}:1").values())
    assert subjects == {"【演练】预警发布：临江市委办公室发布暴雨黄色预警"}
    assert not Message.objects.filter(key=f"warning:{warning.pk}:1", is_drill=False).exists()


def test_notifications_commit_with_the_issue_or_not_at_all(world):
    warning = draft(world)
    leader = principal(world, "city_leader")
    services.approve(leader, warning)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.issue(leader, warning)
        raise RuntimeError("the request failed after issuing")
    warning.refresh_from_db()
    assert warning.identifier is None and not Message.objects.exists()
