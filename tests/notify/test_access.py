"""Who may see and re-queue dead letters, and the inbox API, through the real
authentication (sessions and unit tokens); the admin's endpoint form and test action."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from fenghuo.core import clock
from fenghuo.core.models import AuditEntry
from fenghuo.notify import dispatch, selectors, services
from fenghuo.notify.models import Channel, Endpoint, Message, State
from fenghuo.org import services as org_services
from fenghuo.org.models import Role
from tests.notify.conftest import SECRETS, make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead(org, settings):
    """A dead e-mail to the county duty officer and a dead webhook of the city office."""
    settings.FENGHUO_NOTIFY_SMS = {}
    settings.FENGHUO_NOTIFY_CHAIN = ["email"]
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # discard port: refused
    settings.FENGHUO_NOTIFY_MAX_ATTEMPTS = 1
    make_endpoint(org["city"], Channel.WEBHOOK, "http://127.0.0.1:9/webhook", "s")
    [_, email] = services.notify_people(
        [org["people"]["county_duty"]], subject="请签收", body="正文", key="k"
    )
    [hook] = services.notify_unit(org["city"], subject="请签收", body="正文", key="k")
    dispatch.Dispatcher(threads=1).drain()
    email.refresh_from_db()
    hook.refresh_from_db()
    assert email.state == hook.state == State.DEAD
    return {"email": email, "webhook": hook}


@pytest.mark.parametrize(
    ("who", "sees"),
    [
        ("county_duty", {"email"}),  # the recipient's own unit
        ("city_duty", {"email", "webhook"}),  # an office above, and its own endpoint
        ("other_duty", set()),  # a sibling county
        ("county_reporter", set()),  # not a duty officer
        ("superuser", {"email", "webhook"}),
    ],
)
def test_who_sees_which_dead_letters(org, dead, principal_of, make_person, who, sees):
    if who == "superuser":
        person = make_person("root", org["city"], is_superuser=True)
    else:
        person = org["people"][who]
    principal = principal_of(person)
    assert {k for k, m in dead.items() if m in selectors.dead_letters(principal)} == sees
    for name, message in dead.items():
        if name not in sees:
            with pytest.raises(PermissionDenied):
                services.retry_dead_letter(principal, message)


def _client(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def test_dead_letters_api_lists_with_the_log_and_retry_is_audited(org, dead, settings):
    city = _client(org["people"]["city_duty"])
    listed = city.get("/api/notify/dead-letters").json()
    assert {d["id"] for d in listed} == {dead["email"].pk, dead["webhook"].pk}
    email = next(d for d in listed if d["id"] == dead["email"].pk)
    assert email["log"][0]["error_code"] == "refused" and email["recipient"] == "王值班"

    other = _client(org["people"]["other_duty"])
    assert other.get("/api/notify/dead-letters").json() == []
    assert other.post(f"/api/notify/dead-letters/{dead['email'].pk}/retry").status_code == 404

    response = city.post(f"/api/notify/dead-letters/{dead['email'].pk}/retry")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "pending"
    message = Message.objects.get(pk=dead["email"].pk)
    assert (message.state, message.attempts) == (State.PENDING, 0)
    entry = AuditEntry.objects.get(action="notify.message.retry")
    assert entry.actor_name == "city_duty" and entry.before["state"] == "dead"
    # No longer dead: not listed, and a second retry is refused.
    assert city.post(f"/api/notify/dead-letters/{dead['email'].pk}/retry").status_code == 404


def test_a_retried_dead_letter_is_delivered_when_the_peer_is_back(
    org, dead, http_peer, principal_of
):
    endpoint = dead["webhook"].endpoint
    endpoint.url, endpoint.secret = f"{http_peer.url}/webhook", SECRETS["webhook"]
    services.save_endpoint(None, endpoint)
    services.retry_dead_letter(principal_of(org["people"]["city_duty"]), dead["webhook"])
    dispatch.Dispatcher(threads=1).drain()
    dead["webhook"].refresh_from_db()
    assert dead["webhook"].state == State.DELIVERED
    assert http_peer.sink.accepted_keys == {"k": 1}


def test_inbox_api_is_each_persons_own(org):
    duty, city = org["people"]["county_duty"], org["people"]["city_duty"]
    with clock.frozen_at(clock.now()):
        services.notify_people([duty, city], subject="第一条", body="正文", key="k1")
        clock.advance(timedelta(seconds=1))
        services.notify_people([duty], subject="第二条", body="正文", key="k2", urgent=True)
    client = _client(duty)
    inbox = client.get("/api/notify/inbox").json()
    assert inbox["unread"] == 2
    assert [i["subject"] for i in inbox["items"]] == ["第二条", "第一条"]
    newest = inbox["items"][0]["id"]
    assert client.get(f"/api/notify/inbox?after_id={newest}").json()["items"] == []

    first = inbox["items"][1]["id"]
    theirs = Message.objects.get(person=city, channel=Channel.INAPP).pk
    marked = client.post(
        "/api/notify/inbox/read", {"ids": [first, theirs]}, content_type="application/json"
    ).json()
    assert marked == {"marked": 1, "unread": 1}  # someone else's message is not touched
    assert selectors.unread_count(city) == 1
    assert [i["subject"] for i in _client(city).get("/api/notify/inbox").json()["items"]] == [
        "第一条"
    ]


def test_a_unit_token_has_no_inbox_and_sees_no_dead_letters(org, dead, system):
    _, token = org_services.token_issue(system, unit=org["county"], name="县级系统")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/notify/inbox").status_code == 403
    assert client.get("/api/notify/dead-letters").json() == []
    assert Client().get("/api/notify/inbox").status_code == 401


# -- admin ------------------------------------------------------------------------------


def test_admin_creates_an_endpoint_without_auditing_its_secret_and_sends_a_test(
    org, make_person, http_peer
):
    admin = make_person("city_admin", org["city"], Role.ADMIN, is_staff=True)
    client = _client(admin)
    response = client.post(
        "/admin/notify/endpoint/add/",
        {
            "kind": "webhook",
            "name": "市值班室接收系统",
            "unit": org["county"].pk,
            "url": f"{http_peer.url}/webhook",
            "secret": SECRETS["webhook"],
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = Endpoint.objects.get(name="市值班室接收系统")
    entry = AuditEntry.objects.get(action="notify.endpoint.create")
    assert SECRETS["webhook"] not in str(entry.after) and entry.after["secret_changed"]

    response = client.post(
        "/admin/notify/endpoint/",
        {"action": "send_test_message", "_selected_action": [endpoint.pk]},
    )
    assert response.status_code == 302
    dispatch.Dispatcher(threads=1).drain()
    [received] = http_peer.sink.bodies("webhook")
    assert received.json()["subject"] == "烽火测试消息"
    assert http_peer.sink.rejected == []


def test_a_unit_admin_cannot_add_an_endpoint_to_a_unit_outside_its_tree(org, make_person):
    admin = make_person("county_admin", org["county"], Role.ADMIN, is_staff=True)
    response = _client(admin).post(
        "/admin/notify/endpoint/add/",
        {
            "kind": "webhook",
            "name": "越权端点",
            "unit": org["city"].pk,
            "url": "http://127.0.0.1:9/x",
            "is_active": "on",
        },
    )
    assert response.status_code == 200  # the form refuses the unit
    assert not Endpoint.objects.filter(name="越权端点").exists()
