"""Driving a run on the accelerated clock: the tests pin `core.clock`, move it to a drill
minute and let the worker's loop step run, as `fenghuo worker` would."""

from datetime import datetime, timedelta

from django.test import Client

from fenghuo.core import clock
from fenghuo.drills import drilltime, services
from fenghuo.drills.models import DrillRun, Injection
from fenghuo.org.models import Person


class Drill:
    def __init__(self, run: DrillRun) -> None:
        self.run = run

    def at(self, minute: float) -> None:
        """Move the clock to `minute` of drill time, stepping the loop at every injection
        due on the way (as a worker polling twice a second would)."""
        self.run.refresh_from_db()
        target = drilltime.real_at(self.run, minute)
        while True:
            due = (
                Injection.objects.filter(run=self.run, done_at__isnull=True, due_at__lte=target)
                .order_by("due_at")
                .values_list("due_at", flat=True)
                .first()
            )
            if due is None:
                break
            self._to(due)
            services.advance_all()
        self._to(target)
        services.advance_all()
        self.run.refresh_from_db()

    @staticmethod
    def _to(moment: datetime) -> None:
        if moment > clock.now():
            clock.advance(moment - clock.now())

    def minutes(self) -> float:
        self.run.refresh_from_db()
        return drilltime.minutes(self.run)


def client(username: str) -> Client:
    """A signed-in browser (force_login: the sign-in form and its lockout are tested in
    tests/security, and django-axes wants a real request to authenticate)."""
    browser = Client()
    browser.force_login(Person.objects.get(username=username))
    return browser


def later(minutes: float, run: DrillRun) -> timedelta:
    """`minutes` of drill time in real time."""
    return timedelta(minutes=minutes) / run.speed
