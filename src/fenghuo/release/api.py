"""Public information release over the API (thin): drafts, review, publication, updates
and the renderings. Creates take an Idempotency-Key, like report intake."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from ninja import Header, Router, Status

from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.events.selectors import events_visible
from fenghuo.intake.schemas import FieldErrors
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.auth import request_principal
from fenghuo.org.policy import Principal
from fenghuo.release import renderings, selectors, services
from fenghuo.release.models import Release, ReleaseVersion
from fenghuo.release.schemas import (
    ContentIn,
    NewVersionIn,
    PrefillOut,
    RejectIn,
    ReleaseIn,
    ReleaseOut,
    ReviewIn,
    TextsOut,
    VersionOut,
)

router = Router(tags=["信息发布"])
MAX_ROWS = 500
ERRORS = {403: FieldErrors, 404: FieldErrors, 409: FieldErrors, 422: FieldErrors}


def _name(person) -> str:
    return str(person) if person is not None else ""


def version_out(version: ReleaseVersion) -> dict:
    return {
        "id": version.pk,
        "release_id": version.release_id,
        "number": version.number,
        "edition": version.edition,
        "label": version.label,
        "state": version.state,
        "state_label": version.get_state_display(),
        "based_on": version.based_on_id,
        **{name: getattr(version, name) for name in services.CONTENT_FIELDS},
        "created_by": _name(version.created_by),
        "created_at": version.created_at,
        "submitted_by": _name(version.submitted_by),
        "submitted_at": version.submitted_at,
        "reviewed_by": _name(version.reviewed_by),
        "reviewed_at": version.reviewed_at,
        "review_note": version.review_note,
        "published_by": _name(version.published_by),
        "published_at": version.published_at,
        "missing": services.missing_parts(version),
    }


def release_out(
    principal: Principal,
    release: Release,
    *,
    versions: list[ReleaseVersion] | None = None,
    roots: list[str] | None = None,
) -> dict:
    if versions is None:
        versions = selectors.release_versions(principal, release)
    return {
        "id": release.pk,
        "event_id": release.event_id,
        "unit_id": release.unit_id,
        "unit": release.unit.name,
        "is_drill": release.is_drill,
        "created_at": release.created_at,
        "current_version_id": release.current_id,
        "first_published_at": release.first_published_at,
        "last_published_at": release.last_published_at,
        "public_url": "" if release.is_drill else renderings.public_url(release),
        "may_edit": selectors.may_draft(principal, release.unit),
        "may_approve": selectors.may_approve(principal, release, roots),
        "versions": [version_out(v) for v in versions],
    }


def _release(principal: Principal, release_id: int) -> Release:
    return get_object_or_404(selectors.releases_visible(principal), pk=release_id)


def _version(principal: Principal, version_id: int) -> ReleaseVersion:
    return get_object_or_404(
        selectors.versions_visible(principal).select_related("release", "release__unit"),
        pk=version_id,
    )


def _conflict() -> Status:
    return Status(
        409,
        {
            "detail": "该幂等键已用于内容不同的请求",
            "errors": {"Idempotency-Key": ["同一幂等键只能对应同一次创建"]},
        },
    )


@router.get(
    "/releases",
    response=list[ReleaseOut],
    summary="信息发布列表",
    description="本人可见的信息发布（含各版本）；event_id 按事件筛选。",
)
def list_releases(request: HttpRequest, event_id: int | None = None, limit: int = 100):
    principal = request_principal(request)
    releases = selectors.releases_visible(principal).order_by("-created_at", "-pk")
    if event_id is not None:
        releases = releases.filter(event_id=event_id)
    page = list(releases[: max(1, min(limit, MAX_ROWS))])
    versions: dict[int, list[ReleaseVersion]] = {r.pk: [] for r in page}
    for version in (
        selectors.versions_visible(principal)
        .filter(release__in=page)
        .select_related("created_by", "submitted_by", "reviewed_by", "published_by")
        .order_by("release_id", "-number")
    ):
        versions[version.release_id].append(version)
    roots = selectors.approval_roots(principal)
    return [release_out(principal, r, versions=versions[r.pk], roots=roots) for r in page]


@router.get(
    "/releases/queue",
    response=list[VersionOut],
    summary="待审核、待发布的稿件",
    description="本人有权审批、且不是本人起草或送审的稿件。",
)
def approval_queue(request: HttpRequest):
    principal = request_principal(request)
    queue = selectors.approval_queue(principal).order_by("submitted_at", "pk")
    return [version_out(v) for v in queue[:MAX_ROWS]]


def _event(principal: Principal, event_id: int):
    event = events_visible(principal).filter(pk=event_id).first()
    if event is None:
        raise ValidationError({"event_id": ["事件不存在或无权访问"]})
    return event


def _drafting_unit(principal: Principal, unit_id: int | None):
    units = selectors.drafting_units(principal)
    if unit_id is None:
        if units.count() == 1:
            return units.get()
        raise ValidationError({"unit_id": ["请指明发布单位"]})
    unit = units.filter(pk=unit_id).first()
    if unit is None:
        raise ValidationError({"unit_id": ["无权以该单位名义起草信息发布"]})
    return unit


@router.get(
    "/releases/prefill",
    response={200: PrefillOut, **ERRORS},
    summary="预填发布稿",
    description="按事件及其当前数字生成的发布稿初稿（只使用本人可见、非敏感的报告）。",
)
def prefill(request: HttpRequest, event_id: int, unit_id: int | None = None):
    principal = request_principal(request)
    event = _event(principal, event_id)
    unit = selectors.drafting_units(principal).filter(pk=unit_id).first() if unit_id else None
    return selectors.prefill(principal, event, unit)


@router.post(
    "/releases",
    response={201: ReleaseOut, 200: ReleaseOut, **ERRORS},
    summary="起草信息发布",
    description="建立一份信息发布及其第1稿。同一 Idempotency-Key 重复提交时返回第一次的结果。",
)
def create_release(
    request: HttpRequest,
    payload: ReleaseIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)
    raw = payload.dict(exclude_unset=True)

    def create() -> tuple[int, dict]:
        event = _event(principal, payload.event_id)
        unit = _drafting_unit(principal, payload.unit_id)
        data = selectors.prefill(principal, event, unit) if payload.prefill else {}
        data.update(payload.dict(include=set(services.CONTENT_FIELDS), exclude_unset=True))
        version = services.create_release(
            principal, event=event, unit=unit, data=data, is_drill=payload.is_drill
        )
        return 201, {"release_id": version.release_id, "version_id": version.pk}

    try:
        replay = idempotent(principal, idempotency_key, raw, create)
    except IdempotencyConflict:
        return _conflict()
    release = _release(principal, replay.body["release_id"])
    return Status(200 if replay.replayed else 201, release_out(principal, release))


@router.get("/releases/{release_id}", response={200: ReleaseOut, 404: FieldErrors})
def get_release(request: HttpRequest, release_id: int):
    principal = request_principal(request)
    return release_out(principal, _release(principal, release_id))


@router.post(
    "/releases/{release_id}/versions",
    response={201: VersionOut, 200: VersionOut, **ERRORS},
    summary="新版本（更新或修改）",
    description="更新：以当前公开版本为底稿起草新版本；based_on 指定已退回的稿件时据其修改。",
)
def create_version(
    request: HttpRequest,
    release_id: int,
    payload: NewVersionIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=128),
):
    principal = request_principal(request)
    release = _release(principal, release_id)

    def create() -> tuple[int, dict]:
        based_on = None
        if payload.based_on is not None:
            based_on = release.versions.filter(pk=payload.based_on).first()
            if based_on is None:
                raise ValidationError({"based_on": ["稿件不存在"]})
        version = services.new_version(principal, release, based_on=based_on)
        return 201, {"version_id": version.pk}

    try:
        replay = idempotent(
            principal, idempotency_key, {"release": release_id, **payload.dict()}, create
        )
    except IdempotencyConflict:
        return _conflict()
    version = _version(principal, replay.body["version_id"])
    return Status(200 if replay.replayed else 201, version_out(version))


@router.put(
    "/releases/versions/{version_id}",
    response={200: VersionOut, **ERRORS},
    summary="修改草稿",
    description="只改给出的部分；只有草稿可以修改。",
)
def update_version(request: HttpRequest, version_id: int, payload: ContentIn):
    principal = request_principal(request)
    version = _version(principal, version_id)
    return version_out(services.update_draft(principal, version, payload.dict(exclude_unset=True)))


@router.post(
    "/releases/versions/{version_id}/submit",
    response={200: VersionOut, **ERRORS},
    summary="送审",
    description="各必备部分（标题、时间、地点、概况、影响范围、应对措施、防范建议、联系方式）"
    "缺一不可，缺少的逐项返回 422。",
)
def submit_version(request: HttpRequest, version_id: int):
    principal = request_principal(request)
    return version_out(services.submit(principal, _version(principal, version_id)))


@router.post(
    "/releases/versions/{version_id}/approve",
    response={200: VersionOut, **ERRORS},
    summary="批准",
    description="须有审批权限（领导小组组长、副组长、办公室，或宣传部门负责人），且不是本人起草的稿件。",
)
def approve_version(request: HttpRequest, version_id: int, payload: ReviewIn):
    principal = request_principal(request)
    return version_out(services.approve(principal, _version(principal, version_id), payload.note))


@router.post(
    "/releases/versions/{version_id}/reject",
    response={200: VersionOut, **ERRORS},
    summary="退回",
)
def reject_version(request: HttpRequest, version_id: int, payload: RejectIn):
    principal = request_principal(request)
    return version_out(services.reject(principal, _version(principal, version_id), payload.reason))


@router.post(
    "/releases/versions/{version_id}/publish",
    response={200: VersionOut, **ERRORS},
    summary="发布",
    description="已批准的稿件对外发布（演练除外），成为公开页面上的当前版本。须有审批权限。",
)
def publish_version(request: HttpRequest, version_id: int):
    principal = request_principal(request)
    return version_out(services.publish(principal, _version(principal, version_id)))


@router.get(
    "/releases/versions/{version_id}/texts",
    response={200: TextsOut, 404: FieldErrors},
    summary="微博、微信文本",
    description="微博长文（≤2000 字）、微博短文（≤140 字）、微信标题（≤64）、"
    "摘要（≤120）和正文（≤20000）；超长时在句末截断，以「……」和公开页面链接结尾。",
)
def version_texts(request: HttpRequest, version_id: int):
    principal = request_principal(request)
    texts = renderings.texts(_version(principal, version_id))
    return {
        **{name: getattr(texts, name) for name in TextsOut.model_fields if name != "lengths"},
        "lengths": {k: {"length": n, "limit": m} for k, (n, m) in texts.lengths().items()},
    }


@router.get(
    "/releases/versions/{version_id}/press-release.docx",
    summary="新闻通稿（Word）",
    description="按公文格式（GB/T 9704）生成新闻通稿；未发布的稿件标注「草稿」或「送审稿」。",
    openapi_extra={
        "responses": {
            200: {
                "description": "Word 文档",
                "content": {DOCX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            },
            404: {"description": "稿件不存在或无权查看"},
        }
    },
)
def press_release(request: HttpRequest, version_id: int):
    version = _version(request_principal(request), version_id)
    response = HttpResponse(
        renderings.render_press_release(version), content_type=DOCX_CONTENT_TYPE
    )
    response["Content-Disposition"] = content_disposition_header(
        True, renderings.press_release_filename(version)
    )
    return response
