"""The drill loop in real `fenghuo worker` processes: two workers at once make each
injection once; a worker killed with SIGKILL and started again resumes the drill where it
stood — what fell due meanwhile is made, nothing twice."""

import signal

from tests.processes import Site, migrated_site_fixture, poll, site_fixture  # noqa: F401

COUNT = 30
# Thirty first reports a drill minute apart; at ×120 a real half second apart.
SETUP = """
from fenghuo.drills import services
from fenghuo.org.models import Unit
from tests.drills.world import build
world = build()
director = world.principal("sheng_zhiban")
injections = "\\n".join(
    f'''  - id: r{{n}}
    at: {{n}}
    kind: report
    unit: bureau
    report: {{{{title: 演练报告第{{n}}号（江口县第{{n}}处）, category: fire,
             place: 江口县第{{n}}处仓库, narrative: 第{{n}}处仓库起火。,
             division_code: "990121"}}}}'''
    for n in range({count})
)
text = f'''title: 连续注入
duration: {count}
units:
  bureau: {{{{name: 江口县应急管理局, role: simulated}}}}
  county: 中共江口县委办公室
injections:
{{injections}}
'''
scenario, _ = services.upload_scenario(
    director, unit=world.units["示范省委办公厅"], filename="burst.yaml", text=text
)
office = world.units["示范省委办公厅"]
run = services.prepare_run(director, slug=scenario.slug, unit=office, speed=120)
services.start_run(director, run)
result = run.pk
"""

STATE = """
from django.db.models import Count
from fenghuo.drills.models import DrillRun, Injection
from fenghuo.events.models import Report
run = DrillRun.objects.get(pk={run})
reports = Report.objects.filter(drill_tag=run.tag).values("title").annotate(n=Count("pk"))
result = {{
    "done": Injection.objects.filter(run=run, done_at__isnull=False, failed=False).count(),
    "failed": Injection.objects.filter(run=run, failed=True).count(),
    "reports": reports.count(),
    "twice": [r["title"] for r in reports if r["n"] > 1],
    "state": run.state,
}}
"""


def test_workers_make_each_injection_once_and_resume_after_a_kill(migrated_site):
    site = migrated_site
    run = site.django(SETUP.format(count=COUNT))

    def state() -> dict:
        return site.django(STATE.format(run=run))

    first = site.start("worker")
    second = site.start("worker")
    poll(lambda: state()["done"] >= 5, "the first injections")
    first.signal(signal.SIGKILL)
    second.signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL and second.wait() == -signal.SIGKILL
    stopped = state()
    assert stopped["done"] < COUNT, "every injection was made before the kill; nothing tested"

    site.start("worker")
    poll(lambda: state()["state"] == "ended", "the drill to end by itself")
    final = state()
    assert final == {"done": COUNT, "failed": 0, "reports": COUNT, "twice": [], "state": "ended"}
