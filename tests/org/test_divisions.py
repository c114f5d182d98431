"""Map points for division codes: the shipped nationwide table, an office's own rows first,
and the fall back to the city's and province's codes."""

import pytest

from fenghuo.org.models import Division
from fenghuo.org.selectors import division_points, shipped_divisions

pytestmark = pytest.mark.django_db


def test_the_shipped_table_places_provinces_cities_and_counties():
    table = shipped_divisions()
    assert len(table) > 3000
    points = division_points(["420000", "420100", "420102"])
    assert points["420000"].name == "湖北省"
    assert points["420100"].name == "武汉市"
    assert points["420102"].name == "江岸区"
    assert 29 < points["420102"].latitude < 32 and 113 < points["420102"].longitude < 116


def test_an_unknown_county_falls_back_to_its_city_then_its_province():
    points = division_points(["420199", "429099", "000000", ""])
    assert points["420199"].code == "420100"  # a new district of 武汉市
    # 湖北's county-level cities under the province (4290xx) have no city-level row.
    assert points["429099"].code == "420000"
    assert "000000" not in points and "" not in points


def test_an_offices_own_division_comes_first():
    Division.objects.create(code="420102", name="江岸区（新址）", latitude=30.7, longitude=114.4)
    Division.objects.create(code="990121", name="江口县", latitude=30.12, longitude=111.98)
    points = division_points(["420102", "990121", "990199"])
    assert points["420102"].name == "江岸区（新址）"
    assert (points["990121"].latitude, points["990121"].longitude) == (30.12, 111.98)
    assert "990199" not in points  # neither 990100 nor 990000 is known
