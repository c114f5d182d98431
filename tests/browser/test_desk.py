"""The duty desk: front-end libraries served locally, and the worker-down warning."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from fenghuo.core import clock
from fenghuo.core.models import WorkerHeartbeat
from fenghuo.core.services import worker_heartbeat
from fenghuo.org.models import AdminLevel, Role

pytestmark = pytest.mark.browser

WORKER_DOWN = "后台工作进程未运行"


@pytest.fixture
def officer_page(page, login, make_unit, make_person):
    office = make_unit(
        "杭州市人民政府办公厅",
        level=AdminLevel.CITY,
        division_code="330100",
        is_receiving_office=True,
    )
    make_person("lisi", office, Role.DUTY_OFFICER, full_name="李四")
    return page


def test_htmx_is_served_locally_and_nothing_leaves_the_machine(officer_page, login, live_server):
    page = officer_page
    requests, responses = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("response", lambda response: responses.append((response.url, response.status)))

    login(page, "lisi")
    page.goto(f"{live_server.url}/desk/")
    page.goto(f"{live_server.url}/org/")

    htmx = f"{live_server.url}/static/vendor/htmx/htmx.min.js"
    assert htmx in requests
    # The first load is a 200 (later pages may revalidate it from the cache).
    assert [status for url, status in responses if url == htmx][0] == 200
    # The script ran: htmx is a global on the page.
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.version").startswith("2.")

    loaded = [url for url in requests if urlsplit(url).scheme in {"http", "https", "ws", "wss"}]
    assert loaded, "no requests recorded"
    off_machine = [url for url in loaded if urlsplit(url).hostname != "127.0.0.1"]
    assert off_machine == []
    failed = [(url, status) for url, status in responses if status >= 400]
    assert failed == []


def test_other_vendor_libraries_are_served_locally(page, live_server):
    for path in [
        "/static/vendor/htmx/htmx.min.js",
        "/static/vendor/echarts/echarts.min.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
    ]:
        response = page.request.get(f"{live_server.url}{path}")
        assert response.status == 200, path
        assert len(response.body()) > 1000, path


def test_worker_down_warning_follows_the_heartbeat(officer_page, login, live_server, snapshot):
    page = officer_page
    login(page, "lisi")
    warning = page.get_by_role("alert").filter(has_text=WORKER_DOWN)

    # No heartbeat at all: the warning is shown.
    expect(page.get_by_role("heading", name="值班台", exact=True)).to_be_visible()
    expect(warning).to_be_visible()
    expect(page.locator(".card").filter(has_text="后台工作进程")).to_contain_text("未发现工作进程")
    snapshot(page, "desk-worker-down")

    # A fresh heartbeat: no warning, the worker is listed as running.
    worker_heartbeat("worker-test-1")
    page.reload()
    expect(page.get_by_role("heading", name="值班台", exact=True)).to_be_visible()
    expect(page.get_by_text("worker-test-1")).to_be_visible()
    expect(page.get_by_text("运行中")).to_be_visible()
    expect(warning).to_have_count(0)
    snapshot(page, "desk")

    # The heartbeat goes stale: the warning comes back.
    WorkerHeartbeat.objects.filter(worker_id="worker-test-1").update(
        last_seen=clock.now() - timedelta(hours=1)
    )
    page.reload()
    expect(warning).to_be_visible()
    expect(page.get_by_text("无心跳")).to_be_visible()
