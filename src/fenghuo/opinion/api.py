"""Opinion API (thin).

- `POST /api/opinion/posts`: a JSON-lines body (one post per line, thousands per call).
  Auth: a unit's bearer token (an integration of that unit) or the session of an analyst
  or duty officer. Answer 200 with counts and per-line errors `[{line, errors}]`: a bad
  line never refuses the others.
- `POST /api/opinion/webhook/{slug}`: a connector's push, no session or token but the
  header `X-Fenghuo-Signature: sha256=<hex HMAC-SHA256 of the body with the connector's
  secret>`; 403 when it does not verify.
- `GET|POST /api/opinion/schemes`, `PATCH /api/opinion/schemes/{id}`,
  `POST /api/opinion/schemes/preview` (an expression against the most recent posts).
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from fenghuo.opinion import offload, selectors, services
from fenghuo.opinion.models import Post, Scheme
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit

router = Router(tags=["舆情"])


class IngestOut(Schema):
    received: int
    stored: int
    duplicates: int
    errors: list[dict]


class SchemeIn(Schema):
    name: str
    expression: str
    owner_unit_id: int


class SchemePatch(Schema):
    name: str | None = None
    expression: str | None = None
    is_active: bool | None = None


class SchemeOut(Schema):
    id: int
    name: str
    expression: str
    owner_unit_id: int
    owner_id: int | None
    is_active: bool


class PreviewIn(Schema):
    expression: str
    limit: int = 500


class PostOut(Schema):
    id: int
    platform: str
    post_id: str
    author: str
    text: str
    url: str
    published_at: datetime
    dup_group: str


class PreviewOut(Schema):
    scanned: int
    matched: list[PostOut]


@router.post("/opinion/posts", response=IngestOut)
def ingest_posts(request: HttpRequest) -> dict:
    principal = request_principal(request)
    services.require_ingest(principal)
    result = offload.ingest_body(request.body, source=f"api:{principal.label}", actor=principal)
    return result.as_dict()


@router.post("/opinion/webhook/{slug}", response=IngestOut, auth=None)
def webhook(request: HttpRequest, slug: str) -> dict:
    signature = request.headers.get("X-Fenghuo-Signature", "")
    return services.webhook_ingest(slug, request.body, signature).as_dict()


@router.get("/opinion/schemes", response=list[SchemeOut])
def list_schemes(request: HttpRequest) -> list[Scheme]:
    return list(selectors.schemes_visible(request_principal(request)))


@router.post("/opinion/schemes", response={201: SchemeOut})
def create_scheme(request: HttpRequest, payload: SchemeIn) -> Status:
    unit = get_object_or_404(Unit, pk=payload.owner_unit_id)
    scheme = services.scheme_create(
        request_principal(request),
        name=payload.name,
        expression_text=payload.expression,
        owner_unit=unit,
    )
    return Status(201, scheme)


@router.post("/opinion/schemes/preview", response=PreviewOut)
def preview(request: HttpRequest, payload: PreviewIn) -> dict:
    principal = request_principal(request)
    if not selectors.may_read_posts(principal):
        raise PermissionDenied("只有舆情分析员和值班员可以查看帖子")
    recent: list[Post] = list(selectors.recent_posts(principal, max(1, min(payload.limit, 5000))))
    return {"scanned": len(recent), "matched": services.preview(payload.expression, recent)}


@router.patch("/opinion/schemes/{scheme_id}", response=SchemeOut)
def update_scheme(request: HttpRequest, scheme_id: int, payload: SchemePatch) -> Scheme:
    principal = request_principal(request)
    scheme = get_object_or_404(selectors.schemes_visible(principal), pk=scheme_id)
    changes = payload.dict(exclude_none=True)
    if "expression" in changes:
        changes["expression_text"] = changes.pop("expression")
    return services.scheme_update(principal, scheme, **changes)


class TopicOut(Schema):
    id: int
    title: str
    keywords: list[str]
    first_seen: datetime
    last_seen: datetime
    post_count: int
    negative_share: float
    heat: float
    stage: str
    is_burst: bool
    division_code: str
    event_id: int | None


class OpinionWarningOut(Schema):
    id: int
    scheme_id: int
    topic_id: int
    colour: str
    raised_colour: str
    reasons: list[str]
    state: str
    raised_at: datetime
    decided_at: datetime | None
    note: str


class OpinionDecisionIn(Schema):
    action: str  # confirm / adjust / dismiss
    colour: str | None = None
    note: str = ""


class ClueIn(Schema):
    text: str = ""


class ClueOut(Schema):
    report_id: int
    unit_id: int


@router.get("/opinion/topics", response=list[TopicOut])
def list_topics(request: HttpRequest, limit: int = 100) -> list:
    return list(selectors.topics_visible(request_principal(request))[: max(1, min(limit, 500))])


@router.get("/opinion/topics/{topic_id}", response=TopicOut)
def topic(request: HttpRequest, topic_id: int):
    principal = request_principal(request)
    return get_object_or_404(selectors.topics_visible(principal, drill=None), pk=topic_id)


@router.post("/opinion/topics/{topic_id}/clue", response={201: ClueOut})
def topic_clue(request: HttpRequest, topic_id: int, payload: ClueIn) -> Status:
    """Turn the topic into a clue for the local unit of its division; confirming the
    draft later asks that unit to verify it."""
    principal = request_principal(request)
    found = get_object_or_404(selectors.topics_visible(principal, drill=None), pk=topic_id)
    result = services.topic_to_clue(principal, found, clue_text=payload.text)
    return Status(201, {"report_id": result.report.pk, "unit_id": result.report.unit_id})


@router.get("/opinion/warnings", response=list[OpinionWarningOut])
def list_warnings(request: HttpRequest, limit: int = 100) -> list:
    principal = request_principal(request)
    return list(selectors.opinion_warnings_visible(principal)[: max(1, min(limit, 500))])


@router.post("/opinion/warnings/{warning_id}/decision", response=OpinionWarningOut)
def decide_warning(request: HttpRequest, warning_id: int, payload: OpinionDecisionIn):
    """An analyst confirms, adjusts (colour) or dismisses an opinion warning."""
    principal = request_principal(request)
    warning = get_object_or_404(
        selectors.opinion_warnings_visible(principal, drill=None), pk=warning_id
    )
    if payload.action == "confirm":
        return services.warning_confirm(principal, warning, payload.note)
    if payload.action == "dismiss":
        return services.warning_dismiss(principal, warning, payload.note)
    if payload.action == "adjust":
        return services.warning_adjust(principal, warning, payload.colour or "", payload.note)
    raise ValidationError(
        {"action": ["处理方式应为 confirm（确认）、adjust（调整）或 dismiss（撤销）"]}
    )
