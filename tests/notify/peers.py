"""Real local peers for the transports: an SMTP server (aiosmtpd) and an HTTP sink that
plays a generic webhook receiver, an SMS gateway, Alibaba Cloud SMS and the WeCom, DingTalk
and Feishu robots — each checking signatures with its own code, written from the
providers' documentation, not with Fenghuo's."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from aiosmtpd.controller import Controller

from tests.processes import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]
    raw_sign: str = ""

    def json(self):
        return json.loads(self.body)


@dataclass
class Sink:
    """Answers per path; `fail_next[path] = n` answers 503 n times first; `delay` seconds
    per request. `accepted_keys` is what a receiver that drops duplicates by
    Idempotency-Key keeps."""

    secrets: dict[str, str] = field(default_factory=dict)
    fail_next: Counter = field(default_factory=Counter)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    accepted_keys: Counter = field(default_factory=Counter)
    processed: list[str] = field(default_factory=list)  # first sight of each key, in order
    duplicates: int = 0
    truncated: int = 0  # requests cut off mid-body (their sender died): not acted on
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, req: Received) -> tuple[int, dict]:
        with self.lock:
            self.received.append(req)
            route = req.path.strip("/").split("/")[0]
            if self.fail_next[route] > 0:
                self.fail_next[route] -= 1
                return 503, {"error": "busy"}
        answer = getattr(self, f"_{route}")(req)
        if answer[0] >= 400 or answer[1].get("errcode") or answer[1].get("code"):
            with self.lock:
                self.rejected.append((route, json.dumps(answer[1], ensure_ascii=False)))
        return answer

    def count(self, route: str) -> int:
        with self.lock:
            return sum(1 for r in self.received if r.path.strip("/").startswith(route))

    def bodies(self, route: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path.strip("/").startswith(route)]

    # -- the receivers

    def _webhook(self, req: Received) -> tuple[int, dict]:
        secret = self.secrets.get("webhook", "")
        expected = "sha256=" + hmac.new(secret.encode(), req.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(req.headers.get("x-fenghuo-signature", ""), expected):
            return 401, {"error": "bad signature"}
        if req.json()["timestamp"] != int(req.headers["x-fenghuo-timestamp"]):
            return 401, {"error": "timestamp mismatch"}
        key = req.headers["idempotency-key"]
        with self.lock:
            if key in self.accepted_keys:
                self.duplicates += 1
                self.accepted_keys[key] += 1
                return 200, {"duplicate": True}
            self.accepted_keys[key] += 1
            self.processed.append(key)
        return 202, {"ok": True}

    def _sms(self, req: Received) -> tuple[int, dict]:
        return 200, {"result": "queued"}

    def _aliyun(self, req: Received) -> tuple[int, dict]:
        params = dict(req.query)
        given = params.pop("Signature", "")

        def enc(v: str) -> str:
            return quote(v, safe="~").replace("+", "%20").replace("*", "%2A")

        canonical = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
        to_sign = "GET&%2F&" + enc(canonical)
        key = (self.secrets["aliyun"] + "&").encode()
        expected = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha1).digest())
        if given != expected.decode():
            return 400, {
                "Code": "SignatureDoesNotMatch",
                "Message": "Specified signature is not matched",
            }
        return 200, {
            "Code": "OK",
            "Message": "OK",
            "BizId": "900619746936498440^0",
            "RequestId": "R1",
        }

    def _wecom(self, req: Received) -> tuple[int, dict]:
        if req.query.get("key") != self.secrets["wecom"]:
            return 200, {"errcode": 93000, "errmsg": "invalid webhook url"}
        data = req.json()
        if data.get("msgtype") != "markdown" or not data["markdown"].get("content"):
            return 200, {"errcode": 40008, "errmsg": "invalid message type"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, req: Received) -> tuple[int, dict]:
        secret = self.secrets["dingtalk"]
        stamp = req.query.get("timestamp", "")
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        if not stamp or abs(time.time() * 1000 - int(stamp)) > 3600_000:
            return 200, {"errcode": 310000, "errmsg": "timestamp invalid"}
        if unquote(req.raw_sign) != base64.b64encode(digest).decode():
            return 200, {"errcode": 310000, "errmsg": "sign not match"}
        data = req.json()
        if data.get("msgtype") != "markdown" or not data["markdown"].get("text"):
            return 200, {"errcode": 40035, "errmsg": "缺少参数 markdown"}
        return 200, {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, req: Received) -> tuple[int, dict]:
        data = req.json()
        secret = self.secrets["feishu"]
        string_to_sign = f"{data.get('timestamp')}\n{secret}".encode()
        expected = base64.b64encode(hmac.new(string_to_sign, digestmod=hashlib.sha256).digest())
        if data.get("sign") != expected.decode():
            return 200, {
                "code": 19021,
                "msg": "sign match fail or timestamp is not within one hour from current time",
            }
        if data.get("msg_type") != "text" or not data["content"].get("text"):
            return 200, {"code": 9499, "msg": "Bad Request"}
        return 200, {"code": 0, "msg": "success", "data": {}}


class _Handler(BaseHTTPRequestHandler):
    sink: Sink

    def do_GET(self) -> None:
        self._serve(b"")

    def do_POST(self) -> None:
        declared = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(declared)
        if len(body) < declared:
            # The sender died mid-request (a SIGKILLed worker): a real receiver has nothing
            # to act on and nobody to answer; the sender's retry brings the whole message.
            with self.server.sink.lock:
                self.server.sink.truncated += 1
            self.close_connection = True
            return
        self._serve(body)

    def _serve(self, body: bytes) -> None:
        if self.server.sink.delay:
            time.sleep(self.server.sink.delay)
        parts = urlsplit(self.path)
        req = Received(
            path=parts.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            query=dict(parse_qsl(parts.query)),
            # DingTalk's sign is checked as it came on the wire (urlencoded base64).
            raw_sign=dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get(
                "sign", ""
            ),
        )
        status, answer = self.server.sink.handle(req)
        payload = json.dumps(answer, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except BrokenPipeError:
            pass  # the sender gave up waiting (the timeout test)

    def log_message(self, *args) -> None:
        pass


class HttpPeer:
    """The sink behind a local HTTP server; `port` brings one back where a stopped one was."""

    def __init__(self, sink: Sink, port: int = 0) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self.server.daemon_threads = True
        self.server.sink = sink
        self.sink = sink
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "HttpPeer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        msg = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "to": envelope.rcpt_tos,
                "message_id": msg["Message-ID"],
                "key": msg["X-Fenghuo-Key"],
                "subject": str(make_header(decode_header(msg["Subject"]))),
                "body": msg.get_payload(decode=True).decode(msg.get_content_charset() or "utf-8"),
            }
        )
        return "250 OK"


class SmtpPeer:
    """An SMTP server on a fixed port that can go down and come back (`stop`, `start`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mailbox = _Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list[dict]:
        return self.mailbox.messages
