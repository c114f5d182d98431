"""Escalation chains (签收升级): an unacknowledged receipt reaches the backup, then the leader,
after the office's configured minutes; acknowledgement stops it; a running chain keeps the
steps it started with."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.escalation import services
from fenghuo.escalation.deadlines import run_escalations
from fenghuo.escalation.models import Obligation, ObligationKind
from fenghuo.notify.models import Message
from tests.conftest import SYSTEM
from tests.escalation.world import file_report
from tests.events.world import principal

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with clock.frozen_at(clock.now()):
        yield clock.now()


@pytest.fixture
def county_chain(world):
    """The county office: 5 minutes to acknowledge; then the backup; at 15, the leader."""
    return services.set_policy(
        SYSTEM, world["county"], receipt_minutes=5, steps=[(5, "backup"), (15, "leader")]
    )


def _told(world, who: str, receipt: Obligation) -> list[Message]:
    return list(
        Message.objects.filter(
            person=world["people"][who], channel="inapp", ref=f"obligation:{receipt.pk}"
        ).exclude(key__startswith="late:")
    )


def _county_receipt(world, filed) -> Obligation:
    return Obligation.objects.get(
        event=filed.event, kind=ObligationKind.RECEIPT, office=world["county"]
    )


def test_an_unacknowledged_receipt_escalates_to_the_backup_then_the_leader(
    world, frozen, county_chain
):
    filed = file_report(world, "environment", dead=1)
    receipt = _county_receipt(world, filed)
    assert receipt.chain["steps"] == [
        {"after_minutes": 5, "target": "backup"},
        {"after_minutes": 15, "target": "leader"},
    ]
    assert receipt.next_step_at == frozen + timedelta(minutes=5)

    clock.advance(timedelta(minutes=4, seconds=59))
    run_escalations()
    assert not _told(world, "county_backup", receipt)

    clock.advance(timedelta(seconds=1))
    assert run_escalations() >= 1
    (message,) = _told(world, "county_backup", receipt)
    assert message.urgent and message.key == f"escalation:{receipt.pk}:0"
    assert not _told(world, "county_leader", receipt)
    receipt.refresh_from_db()
    assert receipt.chain_step == 1 and receipt.next_step_at == frozen + timedelta(minutes=15)
    assert receipt.escalations[0]["people"] == ["县备班"]
    assert filed.event.timeline.filter(
        text__startswith="签收升级：江口县委办公室 5 分钟未签收", text__contains="备班（县备班）"
    ).exists()
    assert run_escalations() == 0  # nothing else due yet; a rerun changes nothing

    clock.advance(timedelta(minutes=10))
    run_escalations()
    assert len(_told(world, "county_leader", receipt)) == 1  # the shift's 带班领导
    receipt.refresh_from_db()
    assert receipt.next_step_at is None and len(receipt.escalations) == 2


def test_acknowledgement_stops_the_chain(world, frozen, county_chain):
    filed = file_report(world, "environment", dead=1)
    receipt = _county_receipt(world, filed)
    clock.advance(timedelta(minutes=6))
    run_escalations()
    assert len(_told(world, "county_backup", receipt)) == 1
    services.acknowledge(principal(world, "county_backup"), receipt.route)
    clock.advance(timedelta(hours=1))
    run_escalations()
    assert not _told(world, "county_leader", receipt)
    receipt.refresh_from_db()
    assert receipt.next_step_at is None and receipt.chain_step == 1


def test_a_running_chain_is_not_changed_by_a_later_policy_edit(world, frozen, county_chain):
    before = file_report(world, "environment", dead=1)
    services.set_policy(SYSTEM, world["county"], receipt_minutes=30, steps=[(60, "leader")])
    after = file_report(
        world, "environment", dead=1, category="flood", title="江口县城内涝", place="江口县城"
    )
    running, fresh = _county_receipt(world, before), _county_receipt(world, after)
    assert fresh.event_id != running.event_id
    assert fresh.chain["steps"] == [{"after_minutes": 60, "target": "leader"}]
    assert fresh.due_at == frozen + timedelta(minutes=30)

    clock.advance(timedelta(minutes=5))
    run_escalations()
    # The receipt that started under the old chain escalates by it; the new one waits.
    assert len(_told(world, "county_backup", running)) == 1
    assert not _told(world, "county_backup", fresh) and not _told(world, "county_leader", fresh)


def test_an_office_without_a_policy_uses_the_default_chain(world, frozen):
    filed = file_report(world, "environment", dead=1)
    city = Obligation.objects.get(
        event=filed.event, kind=ObligationKind.RECEIPT, office=world["city"]
    )
    assert city.chain["policy"] == "默认签收升级规则"
    assert city.due_at == frozen + timedelta(minutes=10)
    clock.advance(timedelta(minutes=10))
    run_escalations()
    # No shift at the city office: its duty officers stand in, the second as backup.
    assert len(_told(world, "city_backup", city)) == 1
    clock.advance(timedelta(minutes=10))
    run_escalations()
    assert len(_told(world, "city_leader", city)) == 1  # the office's 单位领导


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("city_admin", True), ("superuser", True), ("county_duty", False), ("county_leader", False)],
)
def test_who_may_set_an_offices_chain(world, who, allowed):
    call = lambda: services.set_policy(  # noqa: E731
        principal(world, who), world["county"], receipt_minutes=5, steps=[(5, "backup")]
    )
    if allowed:
        policy = call()
        assert [(s.after_minutes, s.target) for s in policy.steps.all()] == [(5, "backup")]
        assert AuditEntry.objects.filter(action="escalation.policy.set").exists()
    else:
        with pytest.raises(PermissionDenied):
            call()


def test_a_chain_is_validated_field_by_field(world):
    with pytest.raises(ValidationError) as caught:
        services.set_policy(
            SYSTEM, world["emergency"], receipt_minutes=0, steps=[(20, "backup"), (10, "nobody")]
        )
    assert set(caught.value.message_dict) == {"office", "receipt_minutes", "steps"}
