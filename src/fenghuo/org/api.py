"""Organisation API: thin, every read through selectors."""

from django.http import HttpRequest
from ninja import Router

from fenghuo.org import selectors
from fenghuo.org.auth import request_principal
from fenghuo.org.models import Unit
from fenghuo.org.schemas import ContactOut, ShiftOut, TokenOut, UnitOut, WhoAmI

router = Router(tags=["组织与人员"])


@router.get("/me", response=WhoAmI, summary="当前身份")
def me(request: HttpRequest) -> dict:
    principal = request_principal(request)
    units = {
        u.pk: u.name for u in Unit.objects.filter(pk__in=[g.unit_id for g in principal.grants])
    }
    return {
        "label": principal.label,
        "person_id": principal.person_id,
        "token_id": principal.token_id,
        "roles": [
            {"unit_id": g.unit_id, "unit": units.get(g.unit_id, ""), "role": g.role}
            for g in principal.grants
        ],
    }


@router.get("/units", response=list[UnitOut], summary="组织机构树")
def units(request: HttpRequest) -> list[dict]:
    tree = list(selectors.unit_tree())
    by_path = {u.path: u.pk for u in tree}
    return [
        {
            "id": u.pk,
            "name": u.name,
            "short_name": u.short_name,
            "level": u.level,
            "kind": u.kind.name,
            "division_code": u.division_code,
            "is_direct_point": u.is_direct_point,
            "is_receiving_office": u.is_receiving_office,
            "phone": u.phone,
            "parent_id": by_path.get(u.path[: -Unit.steplen]) if u.depth > 1 else None,
            "depth": u.depth,
        }
        for u in tree
    ]


@router.get("/contacts", response=list[ContactOut], summary="通讯录")
def contacts(request: HttpRequest, q: str = "") -> list:
    return selectors.contacts(request_principal(request), search=q)


@router.get("/roster", response=list[ShiftOut], summary="值班表")
def roster(request: HttpRequest) -> list[dict]:
    return [
        {
            "id": s.pk,
            "office_id": s.office_id,
            "office": s.office.name,
            "starts_at": s.starts_at,
            "ends_at": s.ends_at,
            "primary": str(s.primary),
            "backup": str(s.backup) if s.backup else None,
            "leader": str(s.leader) if s.leader else None,
        }
        for s in selectors.shifts_visible(request_principal(request))
    ]


@router.get("/tokens", response=list[TokenOut], summary="接口令牌（仅管理员）")
def tokens(request: HttpRequest) -> list:
    return list(selectors.tokens_visible(request_principal(request)))
