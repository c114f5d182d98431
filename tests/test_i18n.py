"""Chinese by default; English for a browser that asks for it or a user who switches."""

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login/").content.decode()
    assert "登录烽火" in page and 'lang="zh-Hans"' in page


def test_login_page_in_english_for_an_english_browser(client):
    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Sign in to Fenghuo" in page and 'lang="en"' in page
    assert "登录烽火" not in page


def test_switching_language_keeps_the_choice(client, make_unit, make_person):
    person = make_person("officer", make_unit("江口县委办公室"), "duty_officer")
    client.force_login(person)
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/desk/"})
    assert response.status_code == 302
    page = client.get("/desk/").content.decode()
    assert "Duty desk" in page and "Main navigation" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/desk/"})
    assert "值班台" in client.get("/desk/").content.decode()
