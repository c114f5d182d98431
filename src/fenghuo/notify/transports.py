"""Transports: one class per channel, each sending one `Outgoing` message or raising
`TransportError` with a short error code for the delivery log.

Senders run in the dispatcher's threads, outside any transaction and without the database:
everything they need is in the `Outgoing` snapshot. Error codes:

    http:<status>      the peer answered with a non-2xx status
    errcode:<n>        a robot answered 200 with an error in its body (WeCom, DingTalk, Feishu)
    sms:<code>         the SMS provider refused the message (e.g. sms:isv.BUSINESS_LIMIT_CONTROL)
    smtp:<code>        the SMTP server's reply code (smtp:421, smtp:550 …)
    timeout, refused   no answer in FENGHUO_NOTIFY_TIMEOUT_SECONDS / connection refused
    network, config    other network failures / the channel is not configured

A `permanent` error (a 4xx that retrying cannot fix, an SMTP 5xx, a missing configuration)
makes the message dead at once instead of retrying; the person's fallback still starts.
"""

import base64
import hashlib
import hmac
import json
import smtplib
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from fenghuo.notify.models import Channel, State

# Statuses worth retrying although they are 4xx: timeout, too early, rate limited.
RETRYABLE_4XX = frozenset({408, 425, 429})


class TransportError(Exception):
    def __init__(self, code: str, detail: str = "", *, permanent: bool = False) -> None:
        super().__init__(f"{code} {detail}".strip())
        self.code = code
        self.detail = detail
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """What a sender needs to know about one message, read before sending."""

    id: int
    channel: str
    address: str
    subject: str
    body: str
    link: str
    key: str
    ref: str
    urgent: bool
    is_drill: bool
    created_at: datetime
    url: str = ""
    secret: str = ""

    @property
    def absolute_link(self) -> str:
        if not self.link:
            return ""
        return settings.FENGHUO_BASE_URL.rstrip("/") + "/" + self.link.lstrip("/")

    def text(self) -> str:
        """Subject, body and link as plain text (e-mail, robots in text mode)."""
        parts = [self.subject, self.body, self.absolute_link]
        return "\n".join(part for part in parts if part)


def timeout() -> float:
    return settings.FENGHUO_NOTIFY_TIMEOUT_SECONDS


class Transport:
    channel: ClassVar[str]

    def send(self, out: Outgoing) -> str:
        """Send `out`; a short detail for the log (the provider's id …), or TransportError."""
        raise NotImplementedError


class InApp:
    """In-app messages are delivered by being written: the row is what the desk reads (and
    pushes live), so this transport runs inside the caller's transaction, with no network."""

    channel = Channel.INAPP

    def deliver(self, message: Any, moment: datetime) -> None:
        message.state = State.DELIVERED
        message.delivered_at = moment


# --------------------------------------------------------------------------- HTTP


_client: httpx.Client | None = None


def http() -> httpx.Client:
    """One pooled client for every HTTP transport (httpx clients are thread-safe)."""
    global _client
    if _client is None:
        _client = httpx.Client(
            headers={"User-Agent": "Fenghuo-Notify/1"},
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
    return _client


def _request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        response = http().request(method, url, timeout=timeout(), **kwargs)
    except httpx.TimeoutException as exc:
        raise TransportError("timeout", str(exc) or type(exc).__name__) from exc
    except httpx.ConnectError as exc:
        refused = isinstance(exc.__context__, ConnectionRefusedError) or "refused" in str(exc)
        raise TransportError("refused" if refused else "network", str(exc)) from exc
    except httpx.HTTPError as exc:
        raise TransportError("network", f"{type(exc).__name__}: {exc}") from exc
    if not response.is_success:
        status = response.status_code
        raise TransportError(
            f"http:{status}",
            response.text[:200],
            permanent=400 <= status < 500 and status not in RETRYABLE_4XX,
        )
    return response


def _json(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError as exc:
        raise TransportError("bad-response", response.text[:200]) from exc
    if not isinstance(data, dict):
        raise TransportError("bad-response", response.text[:200])
    return data


def _robot_answer(response: httpx.Response, code_field: str, message_field: str) -> str:
    """Robots answer 200 with {"errcode": 0} (or {"code": 0}); anything else is an error."""
    data = _json(response)
    code = data.get(code_field, data.get("StatusCode", 0))
    if code not in (0, "0"):
        raise TransportError(f"errcode:{code}", str(data.get(message_field, ""))[:200])
    return str(data.get(message_field, "ok"))


def _markdown(out: Outgoing) -> str:
    title = f"**{out.subject}**"
    if out.urgent:
        title = f"**【紧急】{out.subject}**"
    lines = [title, "", out.body]
    if out.absolute_link:
        lines += ["", f"[查看详情]({out.absolute_link})"]
    return "\n".join(lines)


class WeComRobot(Transport):
    """企业微信群机器人: POST <webhook url with key> {"msgtype": "markdown", …}.

    Documented at developer.work.weixin.qq.com "群机器人配置说明"; no signing (the key in the
    URL is the secret); answers {"errcode": 0, "errmsg": "ok"}.
    """

    channel = Channel.WECOM_ROBOT

    def send(self, out: Outgoing) -> str:
        payload = {"msgtype": "markdown", "markdown": {"content": _markdown(out)}}
        return _robot_answer(_request("POST", out.url, json=payload), "errcode", "errmsg")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's 加签: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), urlencoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


class DingTalkRobot(Transport):
    """钉钉自定义机器人: POST <webhook url with access_token>[&timestamp=…&sign=…]
    {"msgtype": "markdown", "markdown": {"title", "text"}, "at": {"isAtAll"}}.

    With a secret, the timestamp (ms) and the signature go in the query string; DingTalk
    rejects a timestamp more than an hour off. Answers {"errcode": 0, "errmsg": "ok"}.
    """

    channel = Channel.DINGTALK_ROBOT

    def send(self, out: Outgoing) -> str:
        url = out.url
        if out.secret:
            stamp = int(time.time() * 1000)
            query = urlencode({"timestamp": stamp, "sign": dingtalk_sign(out.secret, stamp)})
            url += ("&" if "?" in url else "?") + query
        payload = {
            "msgtype": "markdown",
            "markdown": {"title": out.subject, "text": _markdown(out)},
            "at": {"isAtAll": out.urgent},
        }
        return _robot_answer(_request("POST", url, json=payload), "errcode", "errmsg")


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu's variant: base64(HMAC-SHA256(key="timestamp\\nsecret", message=b""))."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class FeishuRobot(Transport):
    """飞书自定义机器人: POST <webhook url> {"timestamp", "sign", "msg_type": "text",
    "content": {"text"}}; timestamp in seconds, signature in the body. Answers
    {"code": 0, "msg": "success"} (older bots: {"StatusCode": 0}).
    """

    channel = Channel.FEISHU_ROBOT

    def send(self, out: Outgoing) -> str:
        text = out.text()
        if out.urgent:
            text = '<at user_id="all">所有人</at> 【紧急】' + text
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": text}}
        if out.secret:
            stamp = int(time.time())
            payload |= {"timestamp": str(stamp), "sign": feishu_sign(out.secret, stamp)}
        return _robot_answer(_request("POST", out.url, json=payload), "code", "msg")


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(out: Outgoing, timestamp: int) -> bytes:
    """The JSON a generic webhook receives. The timestamp is inside the signed body too, so
    a receiver can refuse replays of old bodies."""
    data = {
        "id": out.id,
        "key": out.key,
        "ref": out.ref,
        "subject": out.subject,
        "body": out.body,
        "link": out.absolute_link,
        "urgent": out.urgent,
        "drill": out.is_drill,
        "created_at": out.created_at.isoformat(),
        "timestamp": timestamp,
    }
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class Webhook(Transport):
    """A generic webhook: POST JSON with `Idempotency-Key: <key>`, `X-Fenghuo-Timestamp`
    and `X-Fenghuo-Signature: sha256=<hex HMAC-SHA256(secret, body)>`. Any 2xx is success."""

    channel = Channel.WEBHOOK

    def send(self, out: Outgoing) -> str:
        stamp = int(time.time())
        body = webhook_body(out, stamp)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": out.key,
            "X-Fenghuo-Timestamp": str(stamp),
        }
        if out.secret:
            headers["X-Fenghuo-Signature"] = webhook_signature(out.secret, body)
        response = _request("POST", out.url, content=body, headers=headers)
        return f"http:{response.status_code}"


# --------------------------------------------------------------------------- SMS


def sms_text(out: Outgoing) -> str:
    """Subject and body in one SMS, cut to FENGHUO_NOTIFY_SMS["max_chars"] (long SMS are
    billed per 67 characters; a notification only needs to make the reader look)."""
    limit = int(settings.FENGHUO_NOTIFY_SMS.get("max_chars", 200))
    text = f"{out.subject}：{out.body}" if out.body else out.subject
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fill(template: Any, values: dict[str, str]) -> Any:
    """Replace {mobile}, {text}, {key} … in every string of a JSON template."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, list):
        return [_fill(item, values) for item in template]
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


def aliyun_percent(value: str) -> str:
    """Alibaba Cloud's POP percent-encoding (RFC 3986: space → %20, * → %2A, ~ kept)."""
    return quote(value, safe="-_.~")


def aliyun_signature(params: dict[str, str], secret: str, method: str = "GET") -> str:
    """Signature version 1.0 of Alibaba Cloud's RPC APIs:
    StringToSign = METHOD & %2F & percent(sorted, percent-encoded query);
    Signature = base64(HMAC-SHA1(key = secret + "&", StringToSign))."""
    canonical = "&".join(
        f"{aliyun_percent(k)}={aliyun_percent(v)}" for k, v in sorted(params.items())
    )
    to_sign = f"{method}&{aliyun_percent('/')}&{aliyun_percent(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Sms(Transport):
    """SMS through the configured provider (FENGHUO_NOTIFY_SMS["provider"]):

    - "http": a generic gateway. POST `url` with `template` (JSON) where "{mobile}",
      "{text}", "{key}" and "{subject}" are filled in; any 2xx is success. Most Chinese
      SMS platforms and in-house gateways take a request of this shape.
    - "aliyun": Alibaba Cloud SMS `SendSms` (API version 2017-05-25), an RPC-style GET to
      `url` (default https://dysmsapi.aliyuncs.com/) with PhoneNumbers, SignName,
      TemplateCode, TemplateParam (JSON: {<param>: text}), OutId = the idempotency key, the
      common parameters and the HMAC-SHA1 Signature. Answers {"Code": "OK", "BizId": …}.
    """

    channel = Channel.SMS

    def send(self, out: Outgoing) -> str:
        conf = settings.FENGHUO_NOTIFY_SMS
        provider = conf.get("provider", "")
        if provider == "aliyun":
            return self._aliyun(out, conf)
        if provider == "http" and conf.get("url"):
            return self._gateway(out, conf)
        raise TransportError("config", "未配置短信通道（FENGHUO_NOTIFY_SMS）", permanent=True)

    def _gateway(self, out: Outgoing, conf: dict) -> str:
        template = conf.get("template") or {"mobile": "{mobile}", "content": "{text}"}
        values = {"mobile": out.address, "text": sms_text(out), "key": out.key}
        values["subject"] = out.subject
        headers = {"Idempotency-Key": out.key, **conf.get("headers", {})}
        response = _request("POST", conf["url"], json=_fill(template, values), headers=headers)
        return f"http:{response.status_code}"

    def _aliyun(self, out: Outgoing, conf: dict) -> str:
        params = {
            "AccessKeyId": conf["access_key_id"],
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": out.key[:64],
            "PhoneNumbers": out.address,
            "RegionId": conf.get("region", "cn-hangzhou"),
            "SignName": conf["sign_name"],
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": conf["template_code"],
            "TemplateParam": json.dumps(
                {conf.get("param", "content"): sms_text(out)}, ensure_ascii=False
            ),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, conf["access_key_secret"])
        url = conf.get("url") or "https://dysmsapi.aliyuncs.com/"
        data = _json(_request("GET", url, params=params))
        if data.get("Code") != "OK":
            raise TransportError(f"sms:{data.get('Code')}", str(data.get("Message", ""))[:200])
        return f"BizId {data.get('BizId', '')}"


# --------------------------------------------------------------------------- e-mail


def message_id(out: Outgoing) -> str:
    """The same Message-ID for every retry of one message, derived from its key, so a mail
    system (or a person's client) that sees it twice can drop the copy."""
    digest = hashlib.sha256(f"{out.key}\x00{out.address}".encode()).hexdigest()[:32]
    return f"<{digest}@{settings.FENGHUO_NOTIFY_MAIL_DOMAIN}>"


def _smtp_code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        return next(iter(exc.recipients.values()))[0]
    return getattr(exc, "smtp_code", None)


class Email(Transport):
    """E-mail over SMTP with Django's EMAIL_* settings (host, port, TLS, user, password);
    `Message-ID` from the key and an `X-Fenghuo-Key` header."""

    channel = Channel.EMAIL

    def send(self, out: Outgoing) -> str:
        body = out.body + (f"\n\n{out.absolute_link}" if out.absolute_link else "")
        mail = EmailMessage(
            subject=out.subject,
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[out.address],
            headers={"Message-ID": message_id(out), "X-Fenghuo-Key": out.key},
        )
        if out.urgent:
            mail.extra_headers |= {"X-Priority": "1", "Importance": "high"}
        connection = get_connection(settings.FENGHUO_NOTIFY_EMAIL_BACKEND, timeout=timeout())
        try:
            connection.send_messages([mail])
        except smtplib.SMTPException as exc:
            code = _smtp_code(exc)
            if code is None:
                raise TransportError("smtp", f"{type(exc).__name__}: {exc}") from exc
            raise TransportError(f"smtp:{code}", str(exc)[:200], permanent=code >= 500) from exc
        except ConnectionRefusedError as exc:
            raise TransportError("refused", str(exc)) from exc
        except TimeoutError as exc:
            raise TransportError("timeout", str(exc) or "SMTP") from exc
        except OSError as exc:
            raise TransportError("network", f"{type(exc).__name__}: {exc}") from exc
        return message_id(out)


TRANSPORTS: dict[str, Transport] = {
    t.channel: t for t in (Email(), Sms(), WeComRobot(), DingTalkRobot(), FeishuRobot(), Webhook())
}
