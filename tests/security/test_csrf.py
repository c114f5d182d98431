"""CSRF on every form: crawl the pages the demo's people see, and check that every POST
form carries a token and every POST target refuses a request without one (403)."""

from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest
from django.test import Client

from fenghuo import demo
from fenghuo.org.models import Person

pytestmark = pytest.mark.django_db

PEOPLE = ["sheng_zhiban", "jk_lingdao", "zuzhang", "yuqing", "lj_yj", "admin"]
# Not pages: streams that never end, downloads, the sign-out and language switches.
SKIP = ("/desk/stream/", "/logout/", "/i18n/", "/api/", "/static/", "/admin/logout/")
SKIP_SUFFIXES = (".docx", ".xlsx", ".xml", ".atom", ".txt", ".csv", ".jsonl")
MAX_PAGES = 120


def crawl(client: Client, start: str) -> dict[str, lxml.html.HtmlElement]:
    """Same-site pages reachable from `start` by links (GET only), parsed."""
    pages: dict[str, lxml.html.HtmlElement] = {}
    queue = [start]
    while queue and len(pages) < MAX_PAGES:
        url = queue.pop(0)
        if url in pages:
            continue
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        tree = lxml.html.fromstring(response.content)
        pages[url] = tree
        for href in tree.xpath("//a/@href"):
            parts = urlsplit(urljoin(url, href))
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if (
                parts.netloc in ("", "testserver")
                and parts.path.startswith("/")
                and not target.startswith(SKIP)
                and not parts.path.endswith(SKIP_SUFFIXES)
                and target not in pages
            ):
                queue.append(target)
    return pages


def has_token(elements: list) -> bool:
    """htmx sends the fields of the enclosing form, or of the one named by hx-include."""
    return any(e.xpath(".//input[@name='csrfmiddlewaretoken']") for e in elements)


@pytest.fixture
def demo_data(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    demo.seed()


@pytest.mark.parametrize("username", PEOPLE)
def test_every_post_form_carries_a_token_and_every_target_checks_it(demo_data, username):
    person = Person.objects.get(username=username)
    browsing = Client()
    browsing.force_login(person)
    pages = crawl(browsing, "/admin/" if username == "admin" else "/desk/")
    assert len(pages) > 5, sorted(pages)
    targets: dict[str, str] = {}
    missing = []
    for url, tree in pages.items():
        for form in tree.xpath("//form"):
            if (form.get("method") or "get").lower() != "post":
                continue
            action = urljoin(url, form.get("action") or url)
            if not form.xpath(".//input[@name='csrfmiddlewaretoken']"):
                missing.append((url, action))
            targets.setdefault(urlsplit(action).path, url)
        for element in tree.xpath("//*[@hx-post]"):
            if not (
                has_token(element.xpath("ancestor-or-self::form"))
                or has_token(tree.xpath(f"//*[@id='{element.get('hx-include', '#')[1:]}']"))
                or "X-CSRFToken" in (element.get("hx-headers") or "")
            ):
                missing.append((url, element.get("hx-post")))
            targets.setdefault(urlsplit(urljoin(url, element.get("hx-post"))).path, url)
    assert missing == []
    assert targets, "no form found: the crawl did not reach the pages"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(person)
    accepted = {
        path: (source, strict.post(path, {}).status_code) for path, source in targets.items()
    }
    assert {path: seen for path, seen in accepted.items() if seen[1] != 403} == {}


def test_the_api_refuses_a_session_post_without_its_token(demo_data):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(Person.objects.get(username="lj_yj"))
    response = strict.post("/api/reports", {}, content_type="application/json")
    assert response.status_code == 403
    # A bearer token is not a cookie: no CSRF token is needed, so the body is what is judged.
    assert strict.get("/api/org/me").status_code == 200
