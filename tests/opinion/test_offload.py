"""The opinion stream's batches behind `fenghuo serve` run in a lower-priority process of
the web process (opinion/offload.py): the answer is the same as inline, the posts are
stored matched, the process runs at FENGHUO_OPINION_NICE, and when it is killed the next
batch is still stored (in the request's thread, then in a new process); the process ends
with the web process."""

import json
import os
import signal
from pathlib import Path

import httpx

from tests.processes import (  # noqa: F401
    answers_healthz,
    free_port,
    migrated_site_fixture,
    pid_alive,
    poll,
    site_fixture,
)

SETUP = """
from fenghuo.opinion import services as opinion
from fenghuo.org import services
from fenghuo.org.models import AdminLevel, UnitKind
from fenghuo.org.policy import Principal
system = Principal(person_id=None, grants=(), is_superuser=True, label="测试")
office = services.unit_create(
    system, parent=None, name="临江市委办公室", level=AdminLevel.CITY,
    kind=UnitKind.objects.get(code="gov_office"), division_code="990100",
    is_receiving_office=True,
)
opinion.scheme_create(system, name="化工", expression_text="化工厂 AND 爆炸", owner_unit=office)
_row, token = services.token_issue(system, unit=office, name="舆情采集")
result = token
"""

STORED = """
from fenghuo.opinion.models import Post
result = sorted(
    (p.post_id, p.normalized_text != "", p.matches.count()) for p in Post.objects.all()
)
"""


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(child) for child in text]
    return found


def _opinion_processes(pid: int) -> list[int]:
    """The pool's worker processes: spawned children whose command line says so."""
    found = []
    for child in _children(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if any(b"spawn_main" in part for part in argv):
            found.append(child)
    return found


def _batch(first: int, count: int) -> str:
    lines = [
        json.dumps(
            {
                "platform": "weibo",
                "post_id": str(first + i),
                "text": f"临江市化工厂爆炸 第{first + i}条",
                "published_at": "2026-12-07T10:00:00+08:00",
            }
        )
        for i in range(count)
    ]
    return "\n".join([*lines, "not json"])


def test_batches_run_in_a_niced_process_and_survive_its_death(migrated_site):
    token = migrated_site.django(SETUP)
    port = free_port()
    web = migrated_site.start("serve", "--port", str(port), FENGHUO_OPINION_NICE="7")
    base = f"http://127.0.0.1:{port}"
    poll(lambda: answers_healthz(base), "the web server")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}

    def send(first: int, count: int) -> dict:
        answer = httpx.post(
            f"{base}/api/opinion/posts",
            content=_batch(first, count),
            headers=headers,
            trust_env=False,
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = send(1, 3)
    assert (first["received"], first["stored"], first["duplicates"]) == (4, 3, 0)
    assert [e["line"] for e in first["errors"]] == [4]
    children = _opinion_processes(web.pid)
    assert len(children) == 1, children
    assert os.getpriority(os.PRIO_PROCESS, children[0]) == 7
    assert os.getpriority(os.PRIO_PROCESS, web.pid) == 0

    os.kill(children[0], signal.SIGKILL)
    poll(lambda: children[0] not in _opinion_processes(web.pid), "the killed process to go")
    again = send(3, 3)  # post 3 again and two new: stored in the request's own thread
    assert (again["stored"], again["duplicates"]) == (2, 1)
    later = send(6, 2)  # and a new process takes the next batch
    assert (later["stored"], later["duplicates"]) == (2, 0)
    replacement = _opinion_processes(web.pid)
    assert len(replacement) == 1 and replacement != children

    stored = migrated_site.django(STORED)
    assert stored == [[str(n), True, 1] for n in sorted(range(1, 8), key=str)]
    web.signal(signal.SIGTERM)  # uvicorn ends by SIGTERM again, without shutting the pool
    web.wait()
    poll(lambda: not pid_alive(replacement[0]), "the opinion process to end with its parent")
