import pytest

from fenghuo.notify import services
from fenghuo.notify.models import Endpoint
from fenghuo.org.models import AdminLevel, Role
from tests.conftest import SYSTEM
from tests.notify.peers import HttpPeer, Sink, SmtpPeer

SECRETS = {
    "webhook": "wh-secret-临江",
    "aliyun": "testAccessKeySecret",
    "wecom": "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
    "dingtalk": "SEC1234567890abcdef",
    "feishu": "feishu-signing-secret",
}


@pytest.fixture(autouse=True)
def _chain(settings):
    """The chain these tests assume: e-mail, then SMS (unset, it follows configuration)."""
    settings.FENGHUO_NOTIFY_CHAIN = ["email", "sms"]


@pytest.fixture
def org(make_unit, make_person):
    """临江市委办公室 above 江口县委办公室 (both receiving offices) and 河西县委办公室."""
    city = make_unit(
        "临江市委办公室", level=AdminLevel.CITY, division_code="990100", is_receiving_office=True
    )
    county = make_unit("江口县委办公室", city, division_code="990121", is_receiving_office=True)
    other = make_unit("河西县委办公室", city, division_code="990122", is_receiving_office=True)
    people = {
        "county_duty": make_person(
            "county_duty",
            county,
            Role.DUTY_OFFICER,
            full_name="王值班",
            email="wang@jiangkou.gov.cn",
            mobile="13800000001",
        ),
        "county_reporter": make_person(
            "county_reporter", county, Role.REPORTER, email="chen@jiangkou.gov.cn"
        ),
        "city_duty": make_person(
            "city_duty", city, Role.DUTY_OFFICER, email="li@linjiang.gov.cn", mobile="13800000002"
        ),
        "other_duty": make_person("other_duty", other, Role.DUTY_OFFICER),
        "no_address": make_person("no_address", county, Role.DUTY_OFFICER),
    }
    return {"city": city, "county": county, "other": other, "people": people}


@pytest.fixture
def sink():
    return Sink(secrets=dict(SECRETS))


@pytest.fixture
def http_peer(sink):
    with HttpPeer(sink) as peer:
        yield peer


@pytest.fixture
def smtp_peer(settings):
    peer = SmtpPeer()
    peer.start()
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", peer.port
    yield peer
    peer.stop()


@pytest.fixture
def sms_gateway(settings, http_peer):
    settings.FENGHUO_NOTIFY_SMS = {
        "provider": "http",
        "url": f"{http_peer.url}/sms/send",
        "template": {"phone": "{mobile}", "message": "{text}", "bizId": "{key}"},
    }
    return http_peer


@pytest.fixture
def fast_retries(settings):
    settings.FENGHUO_NOTIFY_BACKOFF_SECONDS = 10
    settings.FENGHUO_NOTIFY_BACKOFF_CAP_SECONDS = 60
    settings.FENGHUO_NOTIFY_MAX_ATTEMPTS = 4
    settings.FENGHUO_NOTIFY_TIMEOUT_SECONDS = 5


def make_endpoint(unit, kind: str, url: str, secret: str = "", name: str = "") -> Endpoint:
    endpoint = Endpoint(kind=kind, name=name or kind, unit=unit, url=url, secret=secret)
    return services.save_endpoint(SYSTEM, endpoint)
