"""Security headers on staff pages, public pages, the API and errors; HSTS and secure
cookies when served over TLS (a setting, read in a fresh process)."""

import json
import subprocess
import sys

import pytest
from django.test import Client

from tests.processes import REPO
from tests.test_settings import _env

pytestmark = pytest.mark.django_db

URLS = ["/login/", "/public/", "/public/feeds/warnings.atom", "/api/org/me", "/no-such-page/"]


def directives(header: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


@pytest.mark.parametrize("url", URLS)
def test_every_answer_carries_the_security_headers(url):
    response = Client().get(url)
    csp = directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]  # no <style> element from markup
    assert "'unsafe-inline'" not in " ".join(
        v for k, vs in csp.items() for v in vs if k != "style-src-attr"
    )
    assert "'unsafe-eval'" not in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()", "usb=()"):
        assert feature in permissions
    # Plain HTTP: no HSTS (a browser would ignore it, and it must not pin a test host).
    assert "Strict-Transport-Security" not in response


def test_hsts_is_sent_over_https_when_configured(settings):
    settings.SECURE_HSTS_SECONDS = 3600
    assert Client().get("/login/", secure=True)["Strict-Transport-Security"] == "max-age=3600"
    assert "Strict-Transport-Security" not in Client().get("/login/")


SHOW = """
import json
from fenghuo import settings as s
print(json.dumps({
    "hsts": getattr(s, "SECURE_HSTS_SECONDS", 0),
    "proxy_ssl": getattr(s, "SECURE_PROXY_SSL_HEADER", None),
    "secure_cookies": [
        getattr(s, "SESSION_COOKIE_SECURE", False), getattr(s, "CSRF_COOKIE_SECURE", False)
    ],
    "img": s.CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
    "proxies": s.FENGHUO_TRUSTED_PROXIES,
}))
"""


def _settings(tmp_path, **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", SHOW],
        env=_env(tmp_path, **env),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_plain_http_by_default(tmp_path):
    shown = _settings(tmp_path)
    assert shown["hsts"] == 0 and shown["proxy_ssl"] is None
    assert shown["secure_cookies"] == [False, False]
    assert shown["img"] == ["'self'", "data:"]


def test_behind_a_tls_proxy(tmp_path):
    shown = _settings(
        tmp_path,
        FENGHUO_HTTPS="true",
        FENGHUO_TRUSTED_PROXIES="10.0.0.5, 10.0.1.0/24",
        FENGHUO_MAP_TILE_URL="https://{s}.tiles.example:8443/{z}/{x}/{y}.png",
    )
    assert shown["hsts"] == 365 * 24 * 3600
    assert shown["proxy_ssl"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert shown["secure_cookies"] == [True, True]
    assert shown["proxies"] == ["10.0.0.5", "10.0.1.0/24"]
    # The intranet tile server is the one other place images may come from.
    assert shown["img"] == ["'self'", "data:", "https://*.tiles.example:8443"]
