import pytest

from fenghuo.org.models import AdminLevel, Role


@pytest.fixture
def county_tree(make_unit, make_person):
    """A city office with a county office and four county departments below it."""
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    depts = {
        "emergency": make_unit(
            "江口县应急管理局", county, kind="emergency", division_code="990121"
        ),
        "environment": make_unit(
            "江口县生态环境局", county, kind="environment", division_code="990121"
        ),
        "health": make_unit("江口县卫生健康局", county, kind="health", division_code="990121"),
        "public_security": make_unit(
            "江口县公安局", county, kind="public_security", division_code="990121"
        ),
    }
    people = {
        "county": make_person("county_reporter", county, Role.REPORTER),
        "duty": make_person("city_duty", city, Role.DUTY_OFFICER),
        **{key: make_person(f"{key}_reporter", unit, Role.REPORTER) for key, unit in depts.items()},
    }
    return {"city": city, "county": county, **depts, "people": people}
