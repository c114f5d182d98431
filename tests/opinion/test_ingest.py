"""Ingestion: every channel ends in services.ingest — idempotent per (platform, post id),
per-line errors with line numbers, the rest stored."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from openpyxl import Workbook

from fenghuo.opinion import feeds, services
from fenghuo.opinion.models import Feed, Post, WebhookConnector
from fenghuo.org import services as org_services
from tests.conftest import SYSTEM
from tests.opinion.conftest import post

FEED = Path(__file__).with_name("feed.xml")


def jsonl(*items) -> str:
    return "\n".join(item if isinstance(item, str) else json.dumps(item) for item in items)


def test_same_post_twice_is_stored_once_and_a_bad_line_is_reported(db):
    body = jsonl(
        post("1", "临江市化工厂爆炸"),
        '{"platform": "weibo", "post_id": "2", "text": 断了',  # malformed JSON
        post("3", "示范省通报", platform="微信"),  # Chinese platform name
        post("4", "", likes=-1),
        post("5", "东山市", platform="抖音"),
    )
    first = services.ingest(services.parse_jsonl(body), source="test")
    assert (first.received, first.stored, first.duplicates) == (5, 2, 0)
    errors = {e.line: e.errors for e in first.errors}
    assert set(errors) == {2, 4, 5}
    assert "不是有效的 JSON" in errors[2]["__all__"][0]
    assert set(errors[4]) == {"text", "likes"}
    assert "platform" in errors[5]
    again = services.ingest(services.parse_jsonl(body), source="test")
    assert (again.stored, again.duplicates) == (0, 2)
    assert Post.objects.count() == 2
    assert Post.objects.get(post_id="3").platform == "wechat"


def test_bulk_endpoint_with_a_unit_token(world, client):
    token, secret = org_services.token_issue(SYSTEM, unit=world.city, name="舆情采集")
    body = jsonl(*(post(str(i), f"第{i}条 临江市消息") for i in range(2500)), "not json")
    answer = client.post(
        "/api/opinion/posts",
        body,
        content_type="application/x-ndjson",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert (data["received"], data["stored"]) == (2501, 2500)
    assert [e["line"] for e in data["errors"]] == [2501]
    assert Post.objects.count() == 2500


@pytest.mark.parametrize(("who", "status"), [("city_analyst", 200), ("city_reporter", 403)])
def test_bulk_endpoint_with_a_session(world, client, who, status):
    client.force_login(getattr(world, who))
    answer = client.post(
        "/api/opinion/posts", jsonl(post("1", "临江市")), content_type="application/x-ndjson"
    )
    assert answer.status_code == status
    assert Post.objects.count() == (1 if status == 200 else 0)


def test_bulk_endpoint_refuses_anonymous_callers(db, client):
    answer = client.post("/api/opinion/posts", jsonl(post("1", "x")), content_type="text/plain")
    assert answer.status_code == 401


def test_import_posts_command_reads_jsonl_csv_and_xlsx(db, tmp_path):
    (tmp_path / "a.jsonl").write_text(
        jsonl(post("j1", "临江市爆炸"), "[1]", post("j2", "示范省泄漏")), encoding="utf-8"
    )
    (tmp_path / "b.csv").write_text(
        "platform,post_id,text,likes,author_verified\n"
        "论坛,c1,临江市论坛帖,12,是\n"
        "论坛,c2,第二帖,很多,否\n"
        "论坛,j1,与jsonl同编号但平台不同,0,否\n",
        encoding="utf-8-sig",
    )
    book = Workbook()
    sheet = book.active
    sheet.append(["platform", "post_id", "text", "published_at"])
    sheet.append(["短视频", "x1", "视频标题 临江市", "2026-11-23 08:00:00"])
    sheet.append(["短视频", "x2", None, None])
    book.save(tmp_path / "c.xlsx")

    outputs = {}
    for name in ("a.jsonl", "b.csv", "c.xlsx", "a.jsonl"):
        out = StringIO()
        call_command("import_posts", str(tmp_path / name), stdout=out, stderr=StringIO())
        outputs.setdefault(name, []).append(out.getvalue())
    assert (
        "新增 2 条" in outputs["a.jsonl"][0]
        and "第 2 行：每行应为一个 JSON 对象" in (outputs["a.jsonl"][0])
    )
    assert "新增 0 条，重复 2 条" in outputs["a.jsonl"][1]
    assert "新增 2 条" in outputs["b.csv"][0] and "第 3 行：likes：" in outputs["b.csv"][0]
    assert "新增 1 条" in outputs["c.xlsx"][0] and "第 3 行：text：不能为空" in outputs["c.xlsx"][0]
    assert Post.objects.get(post_id="c1").likes == 12
    assert Post.objects.get(post_id="c1").author_verified is True
    assert Post.objects.filter(post_id="j1").count() == 2  # weibo and forum


def test_webhook_connector_verifies_the_signature_and_maps_fields(db, client):
    WebhookConnector.objects.create(
        slug="vendor",
        name="某舆情服务商",
        secret="s3cret",
        platform="forum",
        mapping={"post_id": "id", "text": "content.body", "author": "user.name"},
    )
    body = json.dumps(
        [
            {"id": "v1", "content": {"body": "临江市泄漏"}, "user": {"name": "网友甲"}},
            {"id": "v2", "content": {}},
        ],
        ensure_ascii=False,
    ).encode()
    url = "/api/opinion/webhook/vendor"
    bad = client.post(
        url, body, content_type="application/json", headers={"X-Fenghuo-Signature": "sha256=00"}
    )
    assert bad.status_code == 403 and Post.objects.count() == 0
    unknown = client.post(
        "/api/opinion/webhook/nobody",
        body,
        content_type="application/json",
        headers={"X-Fenghuo-Signature": services.webhook_signature("s3cret", body)},
    )
    assert unknown.status_code == 403
    good = client.post(
        url,
        body,
        content_type="application/json",
        headers={"X-Fenghuo-Signature": services.webhook_signature("s3cret", body)},
    )
    assert good.status_code == 200, good.content
    assert good.json()["stored"] == 1
    assert good.json()["errors"] == [{"line": 2, "errors": {"text": ["不能为空"]}}]
    stored = Post.objects.get()
    assert (stored.platform, stored.author, stored.source) == ("forum", "网友甲", "webhook:vendor")


@pytest.fixture
def feed_server():
    """A real local HTTP server serving tests/opinion/feed.xml (with ETag)."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.headers.get("If-None-Match", ""))
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            body = FEED.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/rss.xml", hits
    server.shutdown()
    server.server_close()


def test_feed_loop_polls_due_feeds_and_ingests_entries(db, feed_server):
    url, hits = feed_server
    feed = Feed.objects.create(name="临江日报", url=url, interval_seconds=300)
    Feed.objects.create(name="停用", url=url + "?off", is_active=False)
    assert feeds.poll_feeds() == 1
    posts = Post.objects.order_by("post_id")
    assert [p.post_id for p in posts] == ["news-1", "news-2"]
    assert posts[0].platform == "news" and "临江市化工厂发生爆炸" in posts[0].normalized_text
    assert posts[0].url == "https://news.example.cn/1"
    assert posts[0].published_at.year == 2026
    assert feeds.poll_feeds() == 0  # not due again for 300 s
    feed.refresh_from_db()
    assert feed.etag == '"v1"' and feed.last_error == ""
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=None)
    assert feeds.poll_feeds() == 1
    assert hits == ["", '"v1"'] and Post.objects.count() == 2


def test_feed_errors_are_recorded_and_do_not_stop_the_loop(db):
    Feed.objects.create(name="坏源", url="http://127.0.0.1:9/none.xml")
    assert feeds.poll_feeds() == 1
    assert Feed.objects.get().last_error
