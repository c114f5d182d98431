"""Playwright fixtures: one headless Debian chromium per session, a fresh page per test.

Playwright cannot download its own browsers here, so it drives /usr/bin/chromium.
The pages are served by pytest-django's `live_server` (a server thread on 127.0.0.1);
requesting it makes the test transactional, so rows the test commits are visible to
the server thread. `serialized_rollback` restores the rows the migrations seed (unit
kinds, permissions, content types), which the flush after each transactional test
would otherwise wipe for the next one.
"""

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told this is deliberate (fixtures create data here).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# Serve on 127.0.0.1 so a test can tell local requests from anything leaving the machine.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pw-Fenghuo-2026"
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI + " " + e.sourceFile);
});
"""


def _is_csp_refusal(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("CSP violation")


@pytest.fixture(scope="session")
def browser(django_db_setup: None) -> Iterator[Browser]:
    """Headless chromium for the whole session.

    Playwright's sync API leaves an event loop running in this thread, and Django keeps a
    separate set of database connections for a thread with a running loop (asgiref's
    Local). The test database is created first, in the plain sync context, where Django
    also keeps its serialized copy for `serialized_rollback`; that copy is handed to the
    connections the tests use while Playwright runs, or nothing would restore the rows the
    migrations seed once the first browser test has flushed the tables.
    """
    from django.db import connections

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} 不存在：请先运行 `make browser-deps`（apt-get install chromium）")
    serialized = {
        conn.alias: conn._test_serialized_contents
        for conn in connections.all()
        if hasattr(conn, "_test_serialized_contents")
    }
    with sync_playwright() as playwright:
        for alias, contents in serialized.items():
            connections[alias]._test_serialized_contents = contents
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # Close the connections opened under Playwright's loop before it stops, so
            # none is left holding the test database when it is dropped.
            connections.close_all()


@pytest.fixture
def page(browser: Browser, live_server, django_db_serialized_rollback) -> Iterator[Page]:
    """A page in a fresh context (no cookies) of a Chinese-language browser."""
    from django.db import connection

    assert hasattr(connection, "_test_serialized_contents"), (
        "测试数据库没有序列化副本：serialized_rollback 无法恢复迁移写入的数据"
    )
    context = browser.new_context(
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1280, "height": 860},
        base_url=live_server.url,
    )
    context.set_default_timeout(15_000)
    # Every page must load under the Content-Security-Policy without a single refusal:
    # chromium reports each one on the console, and the page's own event is echoed there.
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    refusals: list[str] = []
    page.on(
        "console",
        lambda message: refusals.append(message.text) if _is_csp_refusal(message.text) else None,
    )
    yield page
    context.close()
    assert refusals == [], f"内容安全策略拒绝了页面的内容：{refusals}"


@pytest.fixture
def login(live_server):
    """Sign in through the real login form; returns the page afterwards."""

    def do(page, username: str, password: str = PASSWORD):
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        return page

    return do


@pytest.fixture
def snapshot():
    """Save a full-page screenshot when FENGHUO_SCREENSHOTS names a folder (for a human to
    look at the pages); does nothing otherwise."""
    folder = os.environ.get("FENGHUO_SCREENSHOTS")

    def take(page, name: str) -> None:
        if folder:
            os.makedirs(folder, exist_ok=True)
            page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)

    return take
