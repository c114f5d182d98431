import pytest

from fenghuo.org.models import AdminLevel, Role


@pytest.fixture
def tree(make_unit, make_person):
    """A city office above a county office with its emergency bureau; each office and
    the bureau have a duty mailbox."""
    city = make_unit(
        "临江市委办公室",
        level=AdminLevel.CITY,
        division_code="990100",
        is_receiving_office=True,
        email="zhiban@linjiang.gov.cn",
    )
    county = make_unit(
        "江口县委办公室",
        city,
        division_code="990121",
        is_receiving_office=True,
        email="zhiban@jiangkou.gov.cn",
    )
    bureau = make_unit(
        "江口县应急管理局",
        county,
        kind="emergency",
        division_code="990121",
        email="yjj@jiangkou.gov.cn",
    )
    people = {
        "bureau_reporter": make_person(
            "yjj_li", bureau, Role.REPORTER, full_name="李信息", email="li.xx@jiangkou.gov.cn"
        ),
        "county_reporter": make_person("county_reporter", county, Role.REPORTER),
        "county_duty": make_person("county_duty", county, Role.DUTY_OFFICER),
        "city_duty": make_person("city_duty", city, Role.DUTY_OFFICER),
        "bureau_duty": make_person("bureau_duty", bureau, Role.DUTY_OFFICER),
        "analyst": make_person("analyst", city, Role.ANALYST),
    }
    return {"city": city, "county": county, "bureau": bureau, "people": people}
