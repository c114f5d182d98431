"""Staff pages for public information release (login) and the public pages (no login).

Thin: reads come from `selectors`, every change from `services`. A hidden per-form key
makes a double click create one release or one new version (`intake.services.idempotent`).
"""

from itertools import groupby
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import linebreaks
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from fenghuo.documents.docx import DOCX_CONTENT_TYPE
from fenghuo.events.models import Event
from fenghuo.events.selectors import events_visible
from fenghuo.intake.services import IdempotencyConflict, Replay, idempotent
from fenghuo.org.policy import Principal, principal_for
from fenghuo.release import renderings, selectors, services
from fenghuo.release.forms import ReleaseForm
from fenghuo.release.models import OPEN_STATES, Release, ReleaseVersion, VersionState

PER_PAGE = 30


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# --- lists -------------------------------------------------------------------------------


def _latest_versions(principal: Principal, releases: list[Release]) -> dict[int, ReleaseVersion]:
    """Per release, the newest version the reader may see."""
    latest: dict[int, ReleaseVersion] = {}
    for version in (
        selectors.versions_visible(principal)
        .filter(release__in=releases)
        .order_by("release_id", "-number")
    ):
        latest.setdefault(version.release_id, version)
    return latest


@login_required
def release_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    releases = selectors.releases_visible(principal).order_by("-created_at", "-pk")
    event = None
    if request.GET.get("event", "").isdecimal():
        event = get_object_or_404(events_visible(principal), pk=int(request.GET["event"]))
        releases = releases.filter(event=event)
    page = Paginator(releases, PER_PAGE).get_page(request.GET.get("page"))
    latest = _latest_versions(principal, list(page))
    rows = [(release, latest.get(release.pk)) for release in page]
    context = {
        "nav": "release",
        "title": "信息发布",
        "rows": rows,
        "page": page,
        "event": event,
        "may_draft": bool(selectors.drafting_unit_ids(principal)),
        "queue_count": selectors.approval_queue(principal).count(),
    }
    return render(request, "release/list.html", context)


@login_required
def approval_queue(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    queue = selectors.approval_queue(principal).order_by("submitted_at", "pk")
    context = {
        "nav": "release",
        "title": "待审核的信息发布",
        "queue": list(queue[:200]),
        "is_approver": bool(selectors.approval_roots(principal)),
    }
    return render(request, "release/queue.html", context)


# --- the editor --------------------------------------------------------------------------


def _editor(
    request: HttpRequest,
    form: ReleaseForm,
    *,
    event: Event,
    release: Release | None,
    version: ReleaseVersion | None,
    status: int = 200,
) -> HttpResponse:
    form.mark_invalid()
    context = {
        "nav": "release",
        "title": "编辑发布稿" if version else "起草信息发布",
        "form": form,
        "event": event,
        "release": release,
        "version": version,
        "required": set(services.required_fields()),
    }
    return render(request, "release/form.html", context, status=status)


def _payload(request: HttpRequest, scope: dict[str, Any]) -> dict[str, Any]:
    fields = {
        k: request.POST.getlist(k) for k in sorted(request.POST) if k != "csrfmiddlewaretoken"
    }
    return {"form": fields, **scope}


def _choose_event(request: HttpRequest, principal: Principal) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    events = events_visible(principal).order_by("-occurred_at")
    if query:
        events = events.filter(title__contains=query)
    context = {
        "nav": "release",
        "title": "起草信息发布",
        "events": list(events[:50]),
        "q": query,
    }
    return render(request, "release/choose_event.html", context)


@login_required
def release_new(request: HttpRequest) -> HttpResponse:
    """Choose an event, then the editor prefilled from it; 保存草稿 or 提交审核."""
    principal = principal_for(request.user)
    units = selectors.drafting_units(principal)
    if not units.exists():
        raise PermissionDenied("您没有可以起草信息发布的单位")
    raw = request.GET.get("event", "") or request.POST.get("event", "")
    if not raw.isdecimal():
        return _choose_event(request, principal)
    event = get_object_or_404(events_visible(principal), pk=int(raw))

    if request.method != "POST":
        unit = units.first()
        initial = selectors.prefill(principal, event, unit)
        initial.update(unit=unit.pk, idempotency_key=ReleaseForm.new_key())
        form = ReleaseForm(initial=initial, units=units, creating=True)
        return _editor(request, form, event=event, release=None, version=None)

    form = ReleaseForm(request.POST, units=units, creating=True)
    submit = "submit" in request.POST
    if form.is_valid():

        def create() -> tuple[int, dict]:
            version = services.create_release(
                principal,
                event=event,
                unit=form.cleaned_data["unit"],
                data=form.content(),
                is_drill=form.cleaned_data["is_drill"],
            )
            if submit:
                services.submit(principal, version)
            return 201, {"release": version.release_id, "version": version.pk, "submit": submit}

        try:
            replay = idempotent(
                principal,
                form.cleaned_data["idempotency_key"] or None,
                _payload(request, {"event": event.pk}),
                create,
            )
        except ValidationError as exc:
            form.add_service_errors(_errors(exc))
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or "无权起草信息发布")
        except IdempotencyConflict:
            form.add_error(None, "这份表单已经提交过，内容与这次不同。请到信息发布列表查看。")
        else:
            return _after_save(request, replay)
    form.data = form.data.copy()
    form.data["idempotency_key"] = ReleaseForm.new_key()
    return _editor(request, form, event=event, release=None, version=None, status=422)


def _after_save(request: HttpRequest, replay: Replay) -> HttpResponse:
    body = replay.body
    if replay.replayed:
        messages.info(request, "这份表单已经提交过，没有重复建立。")
    elif body.get("submit"):
        messages.success(request, "发布稿已提交审核，审批人已收到通知。")
    else:
        messages.success(request, "草稿已保存。草稿不会对外公开。")
    return redirect("release-detail", pk=body["release"])


def _visible_version(principal: Principal, pk: int) -> ReleaseVersion:
    return get_object_or_404(
        selectors.versions_visible(principal).select_related(
            "release", "release__unit", "release__event"
        ),
        pk=pk,
    )


@login_required
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    version = _visible_version(principal, pk)
    release = version.release
    if not selectors.may_draft(principal, release.unit):
        raise PermissionDenied("无权修改该发布稿")
    if version.state != VersionState.DRAFT:
        messages.info(request, f"该稿{version.get_state_display()}，不能再修改。")
        return redirect("release-detail", pk=release.pk)
    if request.method != "POST":
        initial = {name: getattr(version, name) for name in services.CONTENT_FIELDS}
        form = ReleaseForm(initial=initial)
        return _editor(request, form, event=release.event, release=release, version=version)

    form = ReleaseForm(request.POST)
    submit = "submit" in request.POST
    if form.is_valid():
        try:
            with transaction.atomic():
                services.update_draft(principal, version, form.content())
                if submit:
                    services.submit(principal, version)
        except ValidationError as exc:
            form.add_service_errors(_errors(exc))
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or "无权修改该发布稿")
        else:
            if submit:
                messages.success(request, "发布稿已提交审核，审批人已收到通知。")
            else:
                messages.success(request, "草稿已保存。")
            return redirect("release-detail", pk=release.pk)
    return _editor(request, form, event=release.event, release=release, version=version, status=422)


@login_required
@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview (htmx): the text as the public will read it, the parts
    still missing, and the Weibo / WeChat texts with their lengths. Saves nothing."""
    principal = principal_for(request.user)
    form = ReleaseForm(request.POST)
    form.is_valid()  # unreadable values just stay empty in the preview
    units = selectors.drafting_units(principal)
    release = None
    raw = request.POST.get("release", "")
    if raw.isdecimal():
        release = selectors.releases_visible(principal).filter(pk=int(raw)).first()
    if release is None:
        unit_id = request.POST.get("unit", "")
        unit = units.filter(pk=int(unit_id)).first() if unit_id.isdecimal() else units.first()
        if unit is None:
            return HttpResponse(
                "无权起草信息发布", status=403, content_type="text/plain; charset=utf-8"
            )
        release = Release(pk=0, unit=unit, is_drill=request.POST.get("is_drill") == "on")
    version = ReleaseVersion(release=release, number=0)
    for name, value in form.content().items():
        setattr(version, name, "" if value is None and name != "occurred_at" else value)
    problems = services.missing_parts(version)
    for name, errors in services.value_errors(
        {name: getattr(version, name) for name in services.CONTENT_FIELDS}
    ).items():
        problems.setdefault(name, []).extend(errors)
    context = {
        "version": version,
        "sections": renderings.sections(version),
        "problems": [
            (ReleaseVersion._meta.get_field(name).verbose_name, errors)
            for name, errors in problems.items()
        ],
        "texts": renderings.texts(version),
    }
    return render(request, "release/_preview.html", context)


# --- a release and its actions ------------------------------------------------------------


def _detail(
    request: HttpRequest, principal: Principal, release: Release, status: int = 200
) -> HttpResponse:
    versions = selectors.release_versions(principal, release)
    open_version = next((v for v in versions if v.state in OPEN_STATES), None)
    context = {
        "nav": "release",
        "title": f"信息发布 · {release.event.title}",
        "release": release,
        "versions": [
            {
                "version": v,
                "sections": renderings.sections(v),
                "own": principal.person_id in (v.created_by_id, v.submitted_by_id),
            }
            for v in versions
        ],
        "open_version": open_version,
        "may_draft": selectors.may_draft(principal, release.unit),
        "may_approve": selectors.may_approve(principal, release),
        "public_url": reverse("public-release", args=[release.pk])
        if release.current_id and not release.is_drill
        else "",
        "new_version_key": ReleaseForm.new_key(),
    }
    return render(request, "release/detail.html", context, status=status)


@login_required
def release_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    release = get_object_or_404(selectors.releases_visible(principal), pk=pk)
    return _detail(request, principal, release)


ACTIONS = {
    "submit": (lambda p, v, note: services.submit(p, v), "已提交审核，审批人已收到通知。"),
    "approve": (services.approve, "已批准。发布前还需点击「发布」。"),
    "approve-publish": (services.approve_and_publish, "已批准并发布，公开页面已更新。"),
    "publish": (lambda p, v, note: services.publish(p, v), "已发布，公开页面已更新。"),
    "reject": (services.reject, "已退回，起草人已收到通知。"),
}


@login_required
@require_POST
def version_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """送审 / 批准 / 批准并发布 / 发布 / 退回. A refused action answers 403 with the
    release page and the reason (not a redirect a script would take for success)."""
    if action not in ACTIONS:
        raise Http404
    principal = principal_for(request.user)
    version = _visible_version(principal, pk)
    step, done = ACTIONS[action]
    note = request.POST.get("reason" if action == "reject" else "note", "")
    try:
        step(principal, version, note)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权执行此操作")
        return _detail(request, principal, version.release, status=403)
    except ValidationError as exc:
        messages.error(request, "；".join(m for ms in _errors(exc).values() for m in ms))
        return _detail(request, principal, version.release, status=422)
    messages.success(request, done)
    return redirect("release-detail", pk=version.release_id)


@login_required
@require_POST
def new_version(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    release = get_object_or_404(selectors.releases_visible(principal), pk=pk)
    based_on = None
    raw = request.POST.get("based_on", "")
    if raw.isdecimal():
        based_on = get_object_or_404(release.versions, pk=int(raw))

    def create() -> tuple[int, dict]:
        version = services.new_version(principal, release, based_on=based_on)
        return 201, {"version": version.pk}

    try:
        replay = idempotent(
            principal,
            request.POST.get("idempotency_key") or None,
            {"release": release.pk, "based_on": raw},
            create,
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权起草新版本")
        return _detail(request, principal, release, status=403)
    except ValidationError as exc:
        messages.error(request, "；".join(m for ms in _errors(exc).values() for m in ms))
        return _detail(request, principal, release, status=422)
    except IdempotencyConflict:
        messages.info(request, "这份表单已经提交过。")
        return redirect("release-detail", pk=release.pk)
    return redirect("release-version-edit", pk=replay.body["version"])


# --- renderings ---------------------------------------------------------------------------


@login_required
def press_release(request: HttpRequest, pk: int) -> HttpResponse:
    version = _visible_version(principal_for(request.user), pk)
    response = HttpResponse(
        renderings.render_press_release(version), content_type=DOCX_CONTENT_TYPE
    )
    response["Content-Disposition"] = content_disposition_header(
        True, renderings.press_release_filename(version)
    )
    return response


@login_required
def version_texts(request: HttpRequest, pk: int) -> HttpResponse:
    version = _visible_version(principal_for(request.user), pk)
    texts = renderings.texts(version)
    context = {
        "nav": "release",
        "title": "微博、微信文本",
        "version": version,
        "release": version.release,
        "texts": texts,
        "lengths": texts.lengths(),
    }
    return render(request, "release/texts.html", context)


# --- public pages (no login) -------------------------------------------------------------


def public_list(request: HttpRequest) -> HttpResponse:
    """Published releases grouped by event, the event with the latest publication first."""
    releases = list(selectors.public_releases()[:300])
    order = {}
    for release in releases:
        order.setdefault(release.event_id, len(order))
    releases.sort(key=lambda r: (order[r.event_id], -r.last_published_at.timestamp()))
    groups = [list(items) for _, items in groupby(releases, key=lambda r: r.event_id)]
    context = {"nav": "releases", "title": "权威发布", "groups": groups}
    return render(request, "release/public_list.html", context)


def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    release = get_object_or_404(selectors.public_releases(), pk=pk)
    history = selectors.public_history(release)
    current, earlier = history[0], history[1:]
    context = {
        "nav": "releases",
        "title": current.title,
        "release": release,
        "current": current,
        "sections": renderings.sections(current),
        "earlier": [(v, renderings.sections(v)) for v in earlier],
    }
    return render(request, "release/public_detail.html", context)


class ReleaseFeed(Feed):
    """权威发布 as Atom: one entry per release, updated when a new version is published."""

    feed_type = Atom1Feed

    def title(self) -> str:
        return f"{settings.FENGHUO_PUBLIC_SITE_NAME} · 权威发布"

    def subtitle(self) -> str:
        return "突发事件信息发布，经审核后公开；每次更新为新的版本。"

    def link(self) -> str:
        return reverse("public-release-list")

    def feed_url(self) -> str:
        return reverse("public-release-feed")

    def items(self):
        return selectors.public_releases()[:50]

    def item_title(self, item: Release) -> str:
        return item.current.title

    def item_description(self, item: Release) -> str:
        return linebreaks(renderings.plain_text(item.current), autoescape=True)

    def item_link(self, item: Release) -> str:
        return reverse("public-release", args=[item.pk])

    def item_pubdate(self, item: Release):
        return item.first_published_at

    def item_updateddate(self, item: Release):
        return item.last_published_at

    def item_author_name(self, item: Release) -> str:
        return item.unit.name
