"""/metrics behind `fenghuo serve --workers 2`: request counters of both web processes are
summed, whichever process answers the scrape; the figures from the database agree."""

import json
import signal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import (  # noqa: F401
    answers_healthz,
    free_port,
    migrated_site_fixture,
    poll,
    site_fixture,
)


def _counts(text: str) -> dict[tuple, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_request_counters_are_summed_across_web_processes(migrated_site):
    port = free_port()
    web = migrated_site.start(
        "serve", "--port", str(port), "--workers", "2", FENGHUO_LOG_FORMAT="json"
    )
    base = f"http://127.0.0.1:{port}"
    poll(lambda: answers_healthz(base), "the web server")
    sent = 0

    def served_by() -> set[int]:
        lines = [json.loads(line) for line in web.snapshot() if line.startswith("{")]
        return {line["process"] for line in lines if line.get("path") == "/login/"}

    def send_some() -> bool:
        nonlocal sent
        for _ in range(10):  # a new connection each: the kernel spreads them
            assert httpx.get(f"{base}/login/", trust_env=False).status_code == 200
            sent += 1
        return len(served_by()) >= 2

    poll(send_some, "both web processes to serve requests", timeout=120, every=0)
    # uvicorn's worker processes hold the output pipe too: teardown must not miss them.
    web.extra_pids += sorted(served_by())
    poll(lambda: len([line for line in web.snapshot() if '"/login/"' in line]) == sent, "logs")

    key = (
        "fenghuo_http_requests_total",
        (("method", "GET"), ("route", "login/"), ("status", "200")),
    )
    for _ in range(4):  # several scrapes, answered by either process: the same sum
        scrape = httpx.get(f"{base}/metrics", trust_env=False)
        assert scrape.status_code == 200
        counts = _counts(scrape.text)
        assert counts[key] == sent
        assert counts[("fenghuo_database_up", ())] == 1
    files = sorted(p.name for p in (migrated_site.data_dir / "metrics" / f"serve-{port}").iterdir())
    assert len([name for name in files if name.startswith("counter_")]) >= 2, files

    web.signal(signal.SIGTERM)  # the supervisor stops its worker processes
    assert web.wait() == 0, web.output
