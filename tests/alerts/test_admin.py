"""The issuing rules and sender codes in the admin: superusers change the nationwide rules
(audited), unit administrators read them and set their own units' sender codes."""

import pytest

from fenghuo.alerts.models import IssuingRule, SenderCode, WarningLevel
from fenghuo.core.models import AuditEntry
from fenghuo.org import services as org_services
from fenghuo.org.models import Person, Role
from tests.conftest import SYSTEM

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(world):
    return Person.objects.create_superuser("root", "root@example.com", "pw-Fenghuo-2026")


@pytest.fixture
def city_admin(world):
    person = org_services.person_create(
        SYSTEM, username="city_admin", full_name="市管理员", unit=world["city"]
    )
    org_services.membership_grant(SYSTEM, person=person, unit=world["city"], role=Role.ADMIN)
    Person.objects.filter(pk=person.pk).update(is_staff=True)
    return Person.objects.get(pk=person.pk)


def test_a_superuser_changes_who_may_issue_orange(client, superuser):
    client.force_login(superuser)
    rule = IssuingRule.objects.get(level=WarningLevel.ORANGE)
    page = client.get(f"/admin/alerts/issuingrule/{rule.pk}/change/")
    assert page.status_code == 200 and "领导小组副组长" in page.content.decode()
    response = client.post(
        f"/admin/alerts/issuingrule/{rule.pk}/change/",
        {
            "level": WarningLevel.ORANGE,
            "issuer_levels": ["province", "city"],
            "approver_roles": ["group_leader"],
            "note": "试行：市级可发布橙色预警",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.issuer_levels == ["province", "city"] and rule.approver_roles == ["group_leader"]
    assert AuditEntry.objects.filter(action="alerts.issuingrule.update").exists()


def test_a_unit_administrator_reads_the_rules_and_sets_its_sender_code(client, world, city_admin):
    client.force_login(city_admin)
    rule = IssuingRule.objects.get(level=WarningLevel.RED)
    assert client.get("/admin/alerts/issuingrule/").status_code == 200
    denied = client.post(
        f"/admin/alerts/issuingrule/{rule.pk}/change/",
        {"level": 1, "issuer_levels": ["county"], "approver_roles": [], "note": ""},
    )
    assert denied.status_code == 403
    rule.refresh_from_db()
    assert "county" not in rule.issuer_levels

    wrong = client.post(
        "/admin/alerts/sendercode/add/", {"unit": world["city"].pk, "code": "11010012300100"}
    )
    assert "前 6 位须为该单位的行政区划代码 990100" in wrong.content.decode()
    client.post(
        "/admin/alerts/sendercode/add/", {"unit": world["city"].pk, "code": "99010012300100"}
    )
    assert SenderCode.objects.get(unit=world["city"]).code == "99010012300100"
    other = client.post(
        "/admin/alerts/sendercode/add/", {"unit": world["province"].pk, "code": "99000012300100"}
    )
    assert other.status_code == 200  # the province is not the city administrator's to set
    assert not SenderCode.objects.filter(unit=world["province"]).exists()
