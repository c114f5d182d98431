"""Warning pages. Thin: reads through `alerts.selectors`, writes through `alerts.services`.

Staff (login): the list, the approval queue, the editor with its map (new, edit, adjust),
the warning page with its actions and versions, CAP upload. An action the reader may not
take is a Chinese message, never a change.

Public (no login): active warnings with their map, a warning with its versions, its CAP
document, and the Atom feed.
"""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure
from django.views.decorators.http import require_POST

from fenghuo.alerts import cap, selectors, services
from fenghuo.alerts.forms import WarningForm, initial_from
from fenghuo.alerts.models import UNISSUED_STATES, Warning, WarningState
from fenghuo.events.models import Event, EventStatus
from fenghuo.events.selectors import events_visible
from fenghuo.intake.services import IdempotencyConflict, idempotent
from fenghuo.org.policy import Principal, principal_for
from fenghuo.org.selectors import units_with_role

PAGE_ROWS = 200
TABS = {
    "active": ("生效中", [WarningState.ISSUED]),
    "drafts": ("未发布", [*UNISSUED_STATES]),
    "ended": ("已调整/解除", [WarningState.SUPERSEDED, WarningState.LIFTED]),
    "all": ("全部", None),
}


def _map_settings() -> dict[str, str]:
    return {
        "map_tile_url": settings.FENGHUO_MAP_TILE_URL,
        "map_attribution": settings.FENGHUO_MAP_ATTRIBUTION,
    }


def _shape_rows(warnings: list[Warning], link: str) -> list[dict[str, Any]]:
    return [
        {
            "id": w.pk,
            "colour": w.colour,
            "title": w.title,
            "url": reverse(link, args=[w.pk]),
            "shapes": w.geometry or [],
        }
        for w in warnings
    ]


def _drafting_units(principal: Principal) -> list:
    return list(units_with_role(principal, *services.DRAFTER_ROLES).filter(is_active=True))


def _visible_or_404(principal: Principal, pk: int) -> Warning:
    warning = selectors.visible_warning(principal, pk)
    if warning is None:
        raise Http404("预警不存在或无权访问")
    return warning


# --- staff: list, queue, page -------------------------------------------------------------


@login_required
def warning_list(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    tab = request.GET.get("tab", "active")
    if tab not in TABS:
        tab = "active"
    rows = selectors.warnings_visible(principal).order_by("level", "-updated_at", "-pk")
    states = TABS[tab][1]
    if states is not None:
        rows = rows.filter(state__in=states)
    return render(
        request,
        "alerts/list.html",
        {
            "nav": "alerts",
            "title": "预警",
            "rows": rows[:PAGE_ROWS],
            "tab": tab,
            "tabs": [(key, label) for key, (label, _s) in TABS.items()],
            "queue_count": len(selectors.approval_queue(principal)),
            "may_create": bool(_drafting_units(principal)),
        },
    )


@login_required
def warning_queue(request: HttpRequest) -> HttpResponse:
    principal = principal_for(request.user)
    return render(
        request,
        "alerts/queue.html",
        {"nav": "alerts", "title": "预警审批", "rows": selectors.approval_queue(principal)},
    )


@login_required
def warning_detail(request: HttpRequest, pk: int) -> HttpResponse:
    principal = principal_for(request.user)
    warning = _visible_or_404(principal, pk)
    history = selectors.series(principal, warning)
    return render(
        request,
        "alerts/detail.html",
        {
            "nav": "alerts",
            "title": warning.title,
            "warning": warning,
            "may": selectors.permissions(principal, warning),
            "history": history,
            "open_adjustment": next(
                (w for w in history if w.replaces_id == warning.pk and w.state in UNISSUED_STATES),
                None,
            ),
            "cap_url": (
                reverse("api:warning_cap", kwargs={"warning_id": warning.pk})
                if warning.identifier
                else ""
            ),
            "shapes": _shape_rows([warning], "warning-detail"),
            **_map_settings(),
        },
    )


ACTIONS = {
    "approve": (lambda p, w, r: services.approve(p, w), "已批准，可以发布。"),
    "reject": (lambda p, w, r: services.reject(p, w, r.POST.get("reason", "")), "已退回。"),
    "issue": (lambda p, w, r: services.issue(p, w), "已发布，已通知有关单位和领导小组。"),
    "lift": (lambda p, w, r: services.lift(p, w, r.POST.get("reason", "")), "已解除预警。"),
    "withdraw": (lambda p, w, r: services.withdraw(p, w), "已撤销该预警稿。"),
}


@login_required
@require_POST
def warning_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    principal = principal_for(request.user)
    warning = _visible_or_404(principal, pk)
    run, done = ACTIONS[action]
    try:
        run(principal, warning, request)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or "无权执行此操作")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("warning-detail", pk=pk)


# --- staff: the editor --------------------------------------------------------------------


def _events(principal: Principal, current: Event | None) -> list[Event]:
    open_events = (
        events_visible(principal)
        .exclude(status__in=[EventStatus.ENDED, EventStatus.ARCHIVED])
        .order_by("-occurred_at")[:50]
    )
    events = list(open_events)
    if current is not None and current not in events:
        events.insert(0, current)
    return events


def _payload(request: HttpRequest, op: str) -> dict[str, Any]:
    data = {k: request.POST.getlist(k) for k in request.POST if k != "csrfmiddlewaretoken"}
    return {"op": op, **data}


def _editor(
    request: HttpRequest,
    *,
    warning: Warning | None = None,
    adjusting: Warning | None = None,
) -> HttpResponse:
    principal = principal_for(request.user)
    units = _drafting_units(principal)
    base = warning or adjusting
    if warning is not None:
        heading, op = f"修改预警（第 {warning.version} 版）", "update"
    elif adjusting is not None:
        heading, op = f"调整预警：{adjusting.title}", "adjust"
    else:
        heading, op = "拟制预警", "create"
    if base is not None and base.issuing_unit not in units:
        units.append(base.issuing_unit)  # shown, so the service can say why it refuses
    current = base.event if base else None
    if base is None and request.GET.get("event", "").isdigit():
        # 「为该事件拟制预警」 from an event or a drill's page: the event chosen already.
        current = events_visible(principal).filter(pk=request.GET["event"]).first()
    events = _events(principal, current)
    if request.method == "POST":
        form = WarningForm(request.POST, units=units, events=events)
        if form.is_valid():
            try:
                saved = _save(request, principal, form, op, warning, adjusting)
            except ValidationError as exc:
                _add_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or "无权执行此操作")
            except IdempotencyConflict:
                form.add_error(None, "该表单已提交过，请刷新页面后重试")
            else:
                messages.success(request, _saved_message(op))
                return redirect("warning-detail", pk=saved.pk)
        else:
            dry_run = services.errors_in(principal, form.warning_data())
            _add_errors(
                form, ValidationError({k: v for k, v in dry_run.items() if k not in form.errors})
            )
        form.data = form.data.copy()
        form.data["idempotency_key"] = WarningForm.new_key()  # a corrected form may be sent
        form.mark_invalid()
    else:
        initial = initial_from(base) if base else {}
        if not base and units:
            initial["issuing_unit"] = units[0].pk
        if not base and current is not None:
            initial["event"] = current.pk
        initial["idempotency_key"] = WarningForm.new_key()
        form = WarningForm(initial=initial, units=units, events=events)
    return render(
        request,
        "alerts/editor.html",
        {
            "nav": "alerts",
            "title": heading,
            "form": form,
            "warning": warning,
            "adjusting": adjusting,
            "may_draft": bool(units),
            "required": set(services.REQUIRED),
            **_map_settings(),
        },
    )


def _save(
    request: HttpRequest,
    principal: Principal,
    form: WarningForm,
    op: str,
    warning: Warning | None,
    adjusting: Warning | None,
) -> Warning:
    data = form.warning_data()
    if warning is not None:
        return services.update_warning(principal, warning, data)

    def create() -> tuple[int, dict]:
        if adjusting is not None:
            made = services.adjust(principal, adjusting, data)
        else:
            made = services.create_warning(principal, data)
        return 201, {"id": made.pk}

    key = form.cleaned_data.get("idempotency_key") or None
    replay = idempotent(principal, key, _payload(request, op), create)
    return Warning.objects.get(pk=replay.body["id"])


def _add_errors(form: WarningForm, exc: ValidationError) -> None:
    items = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, errors in items.items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)


def _saved_message(op: str) -> str:
    return {
        "create": "预警稿已保存，等待审批。",
        "update": "修改已保存，等待审批。",
        "adjust": "调整稿已保存，经审批并发布后取代原预警。",
    }[op]


@login_required
def warning_new(request: HttpRequest) -> HttpResponse:
    return _editor(request)


@login_required
def warning_edit(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _visible_or_404(principal_for(request.user), pk)
    if warning.state not in UNISSUED_STATES:
        messages.error(request, "已发布的预警不能修改，请使用「调整」发布新版本")
        return redirect("warning-detail", pk=pk)
    return _editor(request, warning=warning)


@login_required
def warning_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _visible_or_404(principal_for(request.user), pk)
    if warning.state != WarningState.ISSUED:
        messages.error(request, "只有生效中的预警可以调整")
        return redirect("warning-detail", pk=pk)
    return _editor(request, adjusting=warning)


@login_required
def cap_import(request: HttpRequest) -> HttpResponse:
    """Upload (or paste) an external CAP 1.2 alert."""
    principal = principal_for(request.user)
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        raw = upload.read(1024 * 1024 + 1) if upload else request.POST.get("xml", "").encode()
        try:
            if len(raw) > 1024 * 1024:
                raise ValidationError({"file": ["CAP 文档不得超过 1 MB"]})
            outcome = services.import_cap(principal, raw)
        except ValidationError as exc:
            error = "；".join(exc.messages)
        except PermissionDenied as exc:
            error = str(exc) or "无权导入"
        else:
            again = "（此前已导入过）" if outcome.replayed else ""
            if outcome.warning is not None:
                messages.success(request, f"已生成预警草稿{again}，请核对后提交审批。")
                return redirect("warning-detail", pk=outcome.warning.pk)
            messages.success(request, f"已登记为线索{again}：{outcome.note}")
            return redirect("warning-import")
    return render(
        request, "alerts/import.html", {"nav": "alerts", "title": "导入 CAP 预警", "error": error}
    )


# --- public ---------------------------------------------------------------------------------


def public_list(request: HttpRequest) -> HttpResponse:
    active = list(selectors.public_warnings())
    return render(
        request,
        "alerts/public_list.html",
        {
            "nav": "warnings",
            "title": "预警信息",
            "active": active,
            "ended": list(selectors.public_recently_ended()),
            "shapes": _shape_rows(active, "public-warning"),
            **_map_settings(),
        },
    )


def _public_or_404(pk: int) -> Warning:
    warning = selectors.public_warning(pk)
    if warning is None:
        raise Http404("该预警不存在或已不再公开")
    return warning


def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _public_or_404(pk)
    return render(
        request,
        "alerts/public_detail.html",
        {
            "nav": "warnings",
            "title": warning.title,
            "warning": warning,
            "history": selectors.public_history(warning),
            "current": selectors.public_current(warning),
            "shapes": _shape_rows([warning], "public-warning"),
            **_map_settings(),
        },
    )


def public_cap(request: HttpRequest, pk: int) -> HttpResponse:
    warning = _public_or_404(pk)
    return HttpResponse(cap.export(warning), content_type="application/cap+xml; charset=utf-8")


class WarningsFeed(Feed):
    """Atom feed of active public warnings; each entry links its CAP 1.2 document."""

    feed_type = Atom1Feed
    description_template = "alerts/feed_entry.html"

    def title(self) -> str:
        return f"{settings.FENGHUO_PUBLIC_SITE_NAME}：生效中的预警"

    def link(self) -> str:
        return reverse("public-warnings")

    def subtitle(self) -> str:
        return "各级有关部门依法发布的突发事件预警信息（不含演练和内部预警）"

    def items(self) -> list[Warning]:
        return list(selectors.public_warnings()[:100])

    def item_title(self, item: Warning) -> str:
        return item.title

    def item_link(self, item: Warning) -> str:
        return reverse("public-warning", args=[item.pk])

    def item_guid(self, item: Warning) -> str:
        return f"urn:fenghuo:warning:{item.identifier}"

    item_guid_is_permalink = False

    def item_author_name(self, item: Warning) -> str:
        return item.issuing_unit.name

    def item_pubdate(self, item: Warning):
        return item.issued_at

    def item_updateddate(self, item: Warning):
        return item.issued_at

    def item_categories(self, item: Warning) -> list[str]:
        return [f"{item.colour_label}预警", item.category.name]

    def item_enclosures(self, item: Warning) -> list[Enclosure]:
        # Enclosures are not given the request's domain by Django: use the configured one.
        base = settings.FENGHUO_BASE_URL.rstrip("/")
        url = base + reverse("public-warning-cap", args=[item.pk])
        return [Enclosure(url, str(len(cap.export(item))), "application/cap+xml")]
