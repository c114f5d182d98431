"""API shapes of the organisation."""

from datetime import datetime

from ninja import Schema


class UnitOut(Schema):
    id: int
    name: str
    short_name: str
    level: str
    kind: str
    division_code: str
    is_direct_point: bool
    is_receiving_office: bool
    phone: str
    parent_id: int | None
    depth: int


class ContactOut(Schema):
    person_id: int
    full_name: str
    title: str
    unit_name: str
    office_phone: str
    mobile: str
    details_visible: bool


class ShiftOut(Schema):
    id: int
    office_id: int
    office: str
    starts_at: datetime
    ends_at: datetime
    primary: str
    backup: str | None
    leader: str | None


class TokenOut(Schema):
    id: int
    unit_id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class WhoAmI(Schema):
    label: str
    person_id: int | None
    token_id: int | None
    roles: list[dict]
