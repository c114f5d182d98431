"""The web shell under load: the duty-desk page and the API, against a bare Django view.

One `fenghuo serve` with one web worker; 16 concurrent keep-alive clients; per target a
warm-up, then the requests in interleaved rounds. Targets:

- GET /desk/          signed-in duty officer (session cookie): the full page render
- GET /api/org/me     a unit's bearer token: Ninja auth + token lookup + JSON
- GET /_bench/hello   the anchor: the same server and middleware, no work in the view
"""

from __future__ import annotations

from _common import ANCHOR, Row, Server, Target, cookie_header, database_label, login, measure

NAME = "web_shell"
PASSWORD = "bench-Fenghuo-2026"


def setup_data() -> dict:
    """Runs inside Django (Server.call): one receiving office, its duty officer, a token."""
    from datetime import timedelta

    from fenghuo.core import clock
    from fenghuo.org import services
    from fenghuo.org.models import AdminLevel, Role, UnitKind
    from fenghuo.org.policy import Principal

    system = Principal(person_id=None, grants=(), is_superuser=True, label="bench")
    unit = services.unit_create(
        system,
        parent=None,
        name="基准市应急管理局值班室",
        level=AdminLevel.CITY,
        kind=UnitKind.objects.get(code="gov_office"),
        division_code="990100",
        is_receiving_office=True,
    )
    person = services.person_create(
        system, username="bench-duty", full_name="值班员甲", unit=unit, password=PASSWORD
    )
    services.membership_grant(system, person=person, unit=unit, role=Role.DUTY_OFFICER)
    now = clock.now()
    services.shift_create(
        system,
        office=unit,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        primary=person,
    )
    _row, token = services.token_issue(system, unit=unit, name="bench")
    return {"username": person.username, "password": PASSWORD, "token": token}


def run() -> list[Row]:
    with Server(setup=f"{NAME}:setup_data") as server:
        cookies = login(server.base_url, server.data["username"], server.data["password"])
        desk = Target(
            "desk",
            "/desk/",
            headers={"Cookie": cookie_header(cookies)},
            check=lambda r: "值班员甲".encode() in r.content,
        )
        api = Target(
            "api",
            "/api/org/me",
            headers={"Authorization": f"Bearer {server.data['token']}"},
            check=lambda r: b'"token_id"' in r.content,
        )
        stats = measure(server.base_url, [ANCHOR, desk, api])
    db = database_label()
    anchor = stats["hello"].row(NAME, f"GET /_bench/hello  anchor  [{db}]")
    anchor.anchor = anchor
    rows = [
        anchor,
        stats["desk"].row(NAME, f"GET /desk/  session page  [{db}]", anchor=anchor),
        stats["api"].row(NAME, f"GET /api/org/me  bearer  [{db}]", anchor=anchor),
    ]
    if not server.stopped_cleanly:
        rows[0].note = f"server exit code {server.exit_code} on SIGTERM"
    return rows
