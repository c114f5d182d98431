"""The demo data `fenghuo run` loads into an empty database: the province, and reports
filed through the real services, so a first look shows grading, routing and obligations."""

import pytest

from fenghuo import demo
from fenghuo.escalation.models import Obligation, Route, RouteState
from fenghuo.events.models import Event, Report
from fenghuo.opinion import selectors
from fenghuo.opinion.models import Post, Topic
from fenghuo.org.models import Person, Unit

pytestmark = pytest.mark.django_db


def test_demo_reports_go_through_grading_and_routing():
    counts = demo.seed()
    assert counts["reports"] == 5 and counts["units"] > 0
    explosion = Event.objects.get(title="临江化工集团江口分厂发生爆炸")
    assert explosion.grade == 3  # 3 dead at a chemical plant: 较大
    crash = Report.objects.get(title="江口县G318国道江口镇段两车相撞")
    # The county office has a leader: its grade Ⅳ report waits for sign-off (审签) before
    # going up to the city; it is already at county level, so no route to itself.
    routes = Route.objects.filter(report=crash)
    assert {(r.office.name, r.state) for r in routes} == {
        ("中共临江市委办公室", RouteState.AWAITING_SIGNOFF)
    }
    # The enterprise (a direct reporting point of the province) has no leader: its report
    # went at once to the provincial office.
    sent = Route.objects.filter(report__event=explosion, state=RouteState.SENT)
    assert {r.office for r in sent} == {Unit.objects.get(name="示范省委办公厅")}
    assert Obligation.objects.filter(event=explosion).exists()
    assert Person.objects.filter(username="jk_lingdao").exists()


def test_seeding_twice_adds_nothing():
    demo.seed()
    assert demo.seed() == {"units": 0, "people": 0, "shifts": 0, "reports": 0, "posts": 0}
    assert Report.objects.count() == 5
    assert Post.objects.count() == len(demo.POSTS)


def test_demo_posts_are_placed_on_the_map_by_division():
    demo.seed()
    assert Post.objects.count() == len(demo.POSTS) and Topic.objects.exists()
    placed = selectors.division_map(Topic.objects.all())
    assert placed["unplaced"] == 0
    by_name = {point["name"]: point for point in placed["points"]}
    assert by_name["江口县"]["posts"] == sum(1 for p in demo.POSTS if p[2] == "990121")
    assert (by_name["江口县"]["lat"], by_name["江口县"]["lng"]) == (30.12, 111.98)
