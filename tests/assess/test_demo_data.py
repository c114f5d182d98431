"""The demo gives a new user something to evaluate: once the worker has run, the city's
ranking has scores, and there are late and missed reports and a suspicion to confirm."""

import pytest

from fenghuo import demo
from fenghuo.assess import metrics
from fenghuo.assess.models import Adoption, Case
from fenghuo.assess.periods import Period
from fenghuo.assess.tasks import assess_due
from fenghuo.core import clock
from fenghuo.escalation.deadlines import mark_overdue
from fenghuo.org.models import Unit

pytestmark = pytest.mark.django_db


def test_the_demo_fills_the_ranking_once_the_worker_has_run():
    demo.seed()
    while mark_overdue() or assess_due():
        pass
    cases = {(c.unit.name, c.kind, c.state) for c in Case.objects.all()}
    assert ("临江市应急管理局", "late", "open") in cases
    assert {
        ("中共江口县委办公室", "missed", "open"),
        ("临江市公安局", "missed", "open"),
        ("中共临江市城关区委办公室", "missed", "open"),
    } <= cases
    assert ("临江化工集团有限公司", "concealed", "open") in cases
    assert Adoption.objects.filter(office__name="中共临江市委办公室").count() == 1
    city = Unit.objects.get(name="中共临江市委办公室")
    start = min(c.at for c in Case.objects.all())
    rows = metrics.ranking(city, Period.bimonth(clock.now().date()))
    rows += (
        metrics.ranking(city, Period.bimonth(start.date()))
        if start.month != clock.now().month
        else []
    )
    assert any(r.score is not None for r in rows)
