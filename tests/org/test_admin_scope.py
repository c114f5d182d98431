"""The admin obeys the access policy: a unit's 管理员 manages only its own subtree."""

import pytest

from fenghuo.org.models import AdminLevel, Person, Role, Unit, UnitKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(make_unit, make_person):
    province = make_unit("示范省委办公厅", level=AdminLevel.PROVINCE, division_code="990000")
    city_a = make_unit("临江市委办公室", province, level=AdminLevel.CITY, division_code="990100")
    county_a = make_unit("江口县委办公室", city_a, division_code="990121")
    city_b = make_unit("青山市委办公室", province, level=AdminLevel.CITY, division_code="990200")
    admin_a = make_person("admin_a", city_a, Role.ADMIN, is_staff=True)
    clerk_a = make_person("clerk_a", county_a, Role.REPORTER)
    staff_no_role = make_person("staff_b", city_b, Role.DUTY_OFFICER, is_staff=True)
    return {
        "province": province,
        "city_a": city_a,
        "county_a": county_a,
        "city_b": city_b,
        "admin_a": admin_a,
        "clerk_a": clerk_a,
        "staff_no_role": staff_no_role,
    }


def _login(client, person):
    client.force_login(Person.objects.get(pk=person.pk))
    return client


def _add_unit(client, parent: Unit, name: str):
    return client.post(
        "/admin/org/unit/add/",
        {
            "name": name,
            "short_name": "",
            "level": AdminLevel.COUNTY,
            "kind": UnitKind.objects.get(code="gov_office").pk,
            "division_code": "990122",
            "treebeard_position": "sorted-child",
            "treebeard_ref_node": parent.pk,
            "is_active": "on",
        },
    )


def test_unit_admin_lists_only_its_subtree(client, tree):
    page = _login(client, tree["admin_a"]).get("/admin/org/unit/").content.decode()
    assert "临江市委办公室" in page
    assert "青山市委办公室" not in page and "示范省委办公厅" not in page


def test_unit_admin_cannot_open_another_citys_unit(client, tree):
    response = _login(client, tree["admin_a"]).get(f"/admin/org/unit/{tree['city_b'].pk}/change/")
    assert response.status_code in (302, 403)
    assert "青山市委办公室" not in response.content.decode()


def test_unit_admin_creates_below_its_own_unit_only(client, tree):
    _login(client, tree["admin_a"])
    refused = _add_unit(client, tree["city_b"], "青山市某局")
    assert refused.status_code == 200  # the form comes back with an error
    assert not Unit.objects.filter(name="青山市某局").exists()
    created = _add_unit(client, tree["city_a"], "临江市某局")
    assert created.status_code == 302
    assert Unit.objects.get(name="临江市某局").path.startswith(tree["city_a"].path)


def test_unit_admin_cannot_make_anyone_superuser(client, tree):
    _login(client, tree["admin_a"])
    clerk = tree["clerk_a"]
    url = f"/admin/org/person/{clerk.pk}/change/"
    form = client.get(url)
    assert form.status_code == 200
    client.post(
        url,
        {
            "username": clerk.username,
            "full_name": clerk.full_name,
            "unit": clerk.unit_id,
            "contact_mark": 1,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        },
    )
    clerk.refresh_from_db()
    assert not clerk.is_superuser and not clerk.is_staff


def test_staff_without_admin_role_sees_no_org_admin(client, tree):
    _login(client, tree["staff_no_role"])
    assert client.get("/admin/org/unit/").status_code == 403
    assert 'href="/admin/org/unit/"' not in client.get("/admin/").content.decode()


def test_unit_admin_sees_org_models_on_the_admin_index(client, tree):
    assert (
        'href="/admin/org/unit/"' in _login(client, tree["admin_a"]).get("/admin/").content.decode()
    )
