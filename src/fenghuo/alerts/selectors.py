"""Reads of warnings, through the access policy; and what the public may see.

Staff (`warnings_visible`):
- a version before issue (draft, rejected, approved, withdrawn) only to the issuing unit's
  drafting roles (which include its approvers) and its author;
- an issued version (in force, superseded or lifted) to whoever the policy lets see the
  issuing unit's content (`policy.visible_q`: that unit and the units above it), to the
  units below the issuer ("warnings of one's own units and above"), and to units whose
  division code lies in the warning's area — each up to the reader's clearance for the
  warning's mark (公开 / 内部 / 敏感).

Public (`public_warnings`, `public_warning`): issued, public, not a drill; in force (its
expected end not passed) — or, for the detail page and the "recently lifted" list, ended or
lifted less than `PUBLIC_AFTER_END` ago. Nothing unapproved, internal or older.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet

from fenghuo.alerts.models import (
    ISSUED_STATES,
    UNISSUED_STATES,
    Warning,
    WarningArea,
    WarningState,
)
from fenghuo.alerts.services import DRAFTER_ROLES, may_approve, may_draft
from fenghuo.core import clock
from fenghuo.core.models import Confidentiality
from fenghuo.org.models import Unit
from fenghuo.org.policy import CLEARANCE, NO_UNIT_SCOPE, Principal, visible_q

PUBLIC_AFTER_END = timedelta(days=3)
STEPLEN = Unit.steplen


def _ancestor_paths(path: str) -> list[str]:
    return [path[:end] for end in range(STEPLEN, len(path) + 1, STEPLEN)]


def _area_prefixes(code: str) -> list[str]:
    """The area prefixes that cover a unit with division code `code`."""
    return ["", code[:2], code[:4], code[:6]]


def warnings_visible(principal: Principal) -> QuerySet[Warning]:
    unissued = Q(pk__in=[])
    if principal.person_id is not None:
        unissued |= Q(created_by_id=principal.person_id)
    drafting_units = [g.unit_id for g in principal.grants if g.role in DRAFTER_ROLES]
    if principal.token_id is not None:
        drafting_units += [g.unit_id for g in principal.grants]
    unissued |= Q(issuing_unit_id__in=drafting_units)

    issued = visible_q(principal, owner="issuing_unit", mark="confidentiality", author=None)
    scoped = [g for g in principal.grants if g.role not in NO_UNIT_SCOPE]
    codes = dict(
        Unit.objects.filter(pk__in=[g.unit_id for g in scoped]).values_list("pk", "division_code")
    )
    for g in scoped:
        limit = Q(confidentiality__lte=CLEARANCE[g.role])
        covered = WarningArea.objects.filter(
            warning=OuterRef("pk"), prefix__in=_area_prefixes(codes.get(g.unit_id, ""))
        )
        issued |= limit & (Q(issuing_unit__path__in=_ancestor_paths(g.unit_path)) | Exists(covered))
    return Warning.objects.filter(
        (Q(state__in=[*UNISSUED_STATES, WarningState.WITHDRAWN]) & unissued)
        | (Q(state__in=ISSUED_STATES) & issued)
    ).select_related("issuing_unit", "category", "event")


def visible_warning(principal: Principal, pk: int) -> Warning | None:
    return warnings_visible(principal).filter(pk=pk).first()


def approval_queue(principal: Principal) -> list[Warning]:
    """Drafts waiting for this principal's approval, and approved ones waiting to be issued."""
    rows = warnings_visible(principal).filter(state__in=[WarningState.DRAFT, WarningState.APPROVED])
    return [w for w in rows.order_by("level", "created_at") if may_approve(principal, w)]


def series(principal: Principal, warning: Warning) -> list[Warning]:
    """The versions of the warning's series the principal may see, oldest first."""
    return list(
        warnings_visible(principal).filter(first_id=warning.series_id).order_by("version", "pk")
    )


@dataclass(frozen=True)
class Permissions:
    edit: bool
    approve: bool
    issue: bool
    adjust: bool
    lift: bool
    withdraw: bool


def permissions(principal: Principal, warning: Warning) -> Permissions:
    """What the page offers; the services decide again when it is asked."""
    drafter = may_draft(principal, warning.issuing_unit)
    approver = may_approve(principal, warning)
    unissued = warning.state in UNISSUED_STATES
    issued = warning.state == WarningState.ISSUED
    return Permissions(
        edit=unissued and drafter,
        approve=warning.state == WarningState.DRAFT and approver,
        issue=warning.state == WarningState.APPROVED and approver,
        adjust=issued and any(g.role in DRAFTER_ROLES for g in principal.grants),
        lift=issued and approver,
        withdraw=unissued and (drafter or approver),
    )


# --- public -------------------------------------------------------------------------------


def _public() -> QuerySet[Warning]:
    return Warning.objects.filter(
        is_drill=False, confidentiality=Confidentiality.PUBLIC
    ).select_related("issuing_unit", "category")


def public_warnings() -> QuerySet[Warning]:
    """Active public warnings (issued, not drills, expected end not passed), most serious
    first. The public index page and the Atom feed use this."""
    return (
        _public()
        .filter(state=WarningState.ISSUED, ends_at__gt=clock.now())
        .order_by("level", "-issued_at")
    )


def public_recently_ended() -> QuerySet[Warning]:
    """Public warnings lifted, or past their expected end, within `PUBLIC_AFTER_END`."""
    moment = clock.now()
    since = moment - PUBLIC_AFTER_END
    return (
        _public()
        .filter(
            Q(state=WarningState.LIFTED, lifted_at__gte=since)
            | Q(state=WarningState.ISSUED, ends_at__lte=moment, ends_at__gte=since)
        )
        .order_by("-updated_at")
    )


def _latest_issued(series_id: int) -> Warning | None:
    return (
        Warning.objects.filter(first_id=series_id, state__in=ISSUED_STATES)
        .order_by("-version")
        .first()
    )


def public_warning(pk: int) -> Warning | None:
    """A version the public may read: its series is public, not a drill, and its latest
    issued version is in force or ended less than `PUBLIC_AFTER_END` ago."""
    warning = _public().filter(pk=pk, state__in=ISSUED_STATES).first()
    if warning is None:
        return None
    latest = _latest_issued(warning.series_id)
    if latest is None or latest.is_drill or latest.confidentiality != Confidentiality.PUBLIC:
        return None
    since = clock.now() - PUBLIC_AFTER_END
    if latest.state == WarningState.LIFTED:
        return warning if latest.lifted_at >= since else None
    return warning if latest.ends_at >= since else None


def public_history(warning: Warning) -> list[Warning]:
    """The issued versions of a public warning's series, oldest first."""
    return list(
        _public()
        .filter(first_id=warning.series_id, state__in=ISSUED_STATES)
        .order_by("version", "pk")
    )


def public_current(warning: Warning) -> Warning | None:
    return _latest_issued(warning.series_id)
