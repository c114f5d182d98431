"""What the scripted participants do, through the public API as their own sessions."""

from datetime import timedelta

from django.test import Client

from fenghuo.core import clock

JSON = "application/json"


def ok(answer, status: int = 200) -> dict:
    assert answer.status_code == status, answer.content.decode()
    return answer.json()


def draft_warning(browser: Client, **fields) -> dict:
    body = {
        "starts_at": clock.now().isoformat(),
        "ends_at": (clock.now() + timedelta(hours=12)).isoformat(),
        "impact": "可能造成城乡积涝、中小河流洪水。",
        "cautions": "注意防范强降雨引发的山洪、滑坡。",
        "measures": "停止户外作业，危险地带人员及时转移。",
        **fields,
    }
    return ok(browser.post("/api/alerts", body, content_type=JSON), 201)


def approve_and_issue(browser: Client, warning_id: int) -> dict:
    ok(browser.post(f"/api/alerts/{warning_id}/approve"))
    return ok(browser.post(f"/api/alerts/{warning_id}/issue"))


def publish_release(drafter: Client, approver: Client, event_id: int, unit_id: int, title: str):
    """Draft (prefilled from the event), complete, submit; the approver approves and
    publishes. Returns the published version."""
    release = ok(
        drafter.post(
            "/api/releases",
            {
                "event_id": event_id,
                "unit_id": unit_id,
                "title": title,
                "impact": "相关区域群众。",
                "measures": "有关部门已在现场处置。",
                "advice": "请以官方发布信息为准，不信谣、不传谣。",
                "contact": "0990-1000000",
                "overview": title,
            },
            content_type=JSON,
        ),
        201,
    )
    version = release["versions"][-1]["id"]
    ok(drafter.post(f"/api/releases/versions/{version}/submit"))
    ok(approver.post(f"/api/releases/versions/{version}/approve", {}, content_type=JSON))
    return ok(approver.post(f"/api/releases/versions/{version}/publish"))
