"""Sign-in: Argon2 hashes, throttling by django-axes (also behind a reverse proxy), session
expiry. Everything goes through the real login form and the real session middleware."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from fenghuo import settings as project_settings
from fenghuo.org.models import Person, Role
from tests.processes import REPO
from tests.test_settings import _env

pytestmark = pytest.mark.django_db
PASSWORD = "pw-Fenghuo-2026"


@pytest.fixture
def officer(make_unit, make_person) -> Person:
    return make_person("duty", make_unit("临江市委办公室"), Role.DUTY_OFFICER)


def sign_in(client: Client, username: str, password: str, **meta):
    return client.post("/login/", {"username": username, "password": password}, **meta)


def signed_in(client: Client) -> bool:
    return client.get("/api/org/me").status_code == 200


@pytest.fixture
def project_hashers(settings):
    """The hashers as configured (the suite otherwise hashes with MD5 for speed)."""
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def test_passwords_are_hashed_with_argon2(project_hashers, officer):
    officer.set_password(PASSWORD)
    officer.save()
    assert Person.objects.get(pk=officer.pk).password.startswith("argon2$argon2id$")


def test_an_older_hash_is_upgraded_to_argon2_at_sign_in(project_hashers, officer):
    from django.contrib.auth.hashers import make_password

    Person.objects.filter(pk=officer.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    client = Client()
    assert sign_in(client, "duty", PASSWORD).status_code == 302
    assert Person.objects.get(pk=officer.pk).password.startswith("argon2$")


def test_failures_lock_the_user_name_out_from_that_address_in_chinese(settings, officer):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        response = sign_in(client, "duty", "wrong")
        assert response.status_code == 200  # the form again, with its error
    assert sign_in(client, "duty", "wrong").status_code == 429  # the third locks out
    locked = sign_in(client, "duty", PASSWORD)  # even the right password now
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "登录已暂停" in text and "连续 3 次密码错误" in text
    assert int(locked["Retry-After"]) == 15 * 60
    assert not signed_in(client)
    # Another address is not locked out, and neither is another user at this address.
    assert sign_in(Client(), "duty", PASSWORD, REMOTE_ADDR="10.1.2.3").status_code == 302


def test_the_lockout_ends_after_the_cool_off(settings, officer):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    client = Client()
    sign_in(client, "duty", "wrong")
    sign_in(client, "duty", "wrong")
    assert sign_in(client, "duty", PASSWORD).status_code == 429
    time.sleep(1.2)
    assert sign_in(client, "duty", PASSWORD).status_code == 302
    assert signed_in(client)


def test_a_success_clears_earlier_failures(settings, officer):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    sign_in(client, "duty", "wrong")
    sign_in(client, "duty", "wrong")
    assert sign_in(client, "duty", PASSWORD).status_code == 302
    client.post("/logout/")
    sign_in(client, "duty", "wrong")
    sign_in(client, "duty", "wrong")
    assert sign_in(client, "duty", PASSWORD).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_is_locked_out(settings, officer):
    """Through the proxy (127.0.0.1 here) every client shares one peer address; the lockout
    follows X-Forwarded-For, so one client's failures do not lock out the others."""
    settings.AXES_FAILURE_LIMIT = 2
    settings.FENGHUO_TRUSTED_PROXIES = ["127.0.0.1"]
    attacker = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    colleague = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    for _ in range(2):
        sign_in(Client(), "duty", "wrong", **attacker)
    assert sign_in(Client(), "duty", PASSWORD, **attacker).status_code == 429
    assert sign_in(Client(), "duty", PASSWORD, **colleague).status_code == 302
    # A client that prepends a made-up address is still known by the proxy's last entry.
    spoofed = {"HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9"}
    assert sign_in(Client(), "duty", PASSWORD, **spoofed).status_code == 429


def test_without_a_trusted_proxy_forwarded_headers_are_ignored(settings, officer):
    settings.AXES_FAILURE_LIMIT = 2
    assert settings.FENGHUO_TRUSTED_PROXIES == []
    for n in range(2):
        sign_in(Client(), "duty", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    # Changing the header does not escape: the peer address is what counts.
    fresh = {"HTTP_X_FORWARDED_FOR": "192.0.2.55"}
    assert sign_in(Client(), "duty", PASSWORD, **fresh).status_code == 429


def test_the_admin_sign_in_is_throttled_too(settings, officer):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(2):
        Client().post("/admin/login/", {"username": "duty", "password": "wrong"})
    right = {"username": "duty", "password": PASSWORD}
    assert Client().post("/admin/login/", right).status_code == 429


def test_a_session_lasts_the_configured_time_then_is_refused(settings, officer):
    settings.SESSION_COOKIE_AGE = 3600
    client = Client()
    assert sign_in(client, "duty", PASSWORD).status_code == 302
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    session = Session.objects.get(session_key=key)
    left = (session.expire_date - timezone.now()).total_seconds()
    assert 3590 < left <= 3600
    assert client.get("/desk/").status_code == 200 and signed_in(client)
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(1))
    page = client.get("/desk/")
    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert client.get("/api/org/me").status_code == 401


def test_the_session_lifetime_comes_from_the_environment(tmp_path):
    code = "from fenghuo import settings as s; print(s.SESSION_COOKIE_AGE)"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_env(tmp_path, FENGHUO_SESSION_SECONDS="900"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["900"], done.stderr
