"""The e-mail channel: an SMTP receiver (aiosmtpd) that turns each message into a draft.

Why an SMTP receiver rather than polling a mailbox over IMAP:
- Push, not poll: a message becomes a draft on the duty desk seconds after the office's
  mail server hands it over, where IMAP adds up to one polling interval to the main loop.
- Durable end to end: the sending server gets "250" only after the message is committed
  to the database. Until then it keeps the message and retries (a 4xx reply, a crash, a
  restart), and the Message-ID makes the retry harmless. IMAP polling has a window
  between "stored" and "flagged as seen" that must be reconciled by hand.
- No mailbox password is kept in Fenghuo, and nothing has to watch a mailbox's quota.
- It runs anywhere Python runs, with no mail server of its own: the office's mail
  server forwards the duty address (e.g. zhiban@…) to this receiver by a transport or
  alias rule. Where only a mailbox can be offered, fetchmail can deliver from it to
  this receiver over SMTP, so the same path is used.

The receiver binds 127.0.0.1:2525 by default (FENGHUO_SMTP_HOST, FENGHUO_SMTP_PORT): put
it behind the organisation's mail gateway, which does spam filtering, TLS and
authentication. It never relays; every message it accepts is stored, whoever it is for.
Messages over FENGHUO_MAIL_MAX_BYTES (default 10 MB) are refused with 552 before they
are stored. Protocol replies are ASCII, as SMTP requires.
"""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from django.db import close_old_connections, connections

from fenghuo.intake import mail, services

logger = logging.getLogger("fenghuo.intake.mail")


class MailHandler:
    """aiosmtpd handler: stores each message through `services.receive_message`.

    The database is used from one worker thread of our own, never from the event loop
    (Django's ORM is synchronous), so the loop keeps serving other connections while a
    message is written.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fenghuo-mail")

    def _store(self, raw: bytes, envelope_from: str, recipients: list[str], peer: str) -> Any:
        close_old_connections()
        try:
            return services.receive_message(
                raw, envelope_from=envelope_from, recipients=recipients, peer=peer
            )
        finally:
            close_old_connections()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        if len(raw) > self.max_bytes:
            return "552 5.3.4 Message too big"
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer or "")
        loop = asyncio.get_running_loop()
        try:
            message, created = await loop.run_in_executor(
                self.executor,
                self._store,
                raw,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
                peer,
            )
        except services.MessageTooLarge:
            return "552 5.3.4 Message too big"
        except Exception:
            logger.exception("邮件未能保存，已请发件服务器稍后重试")
            return "451 4.3.0 Temporary failure, please retry"
        if created:
            logger.info("收到邮件 %s（%s）", message.message_id, message.from_address)
        return f"250 2.0.0 Accepted as {message.pk}"

    def close(self) -> None:
        """Close the worker thread's database connection, then the thread."""
        self.executor.submit(connections.close_all).result(timeout=30)
        self.executor.shutdown(wait=True)


class _Controller(Controller):
    """aiosmtpd's threaded controller, able to bind port 0 (any free port) and report it."""

    def _trigger_server(self) -> None:
        if self.port == 0 and self.server is not None:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailReceiver:
    """The SMTP receiver: `start()`, then `port` is where it listens; `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 2525, *, max_bytes: int = 0):
        limit = max_bytes or mail.max_bytes()
        self.handler = MailHandler(limit)
        self.controller = _Controller(
            self.handler,
            hostname=host,
            port=port,
            server_hostname="fenghuo",
            data_size_limit=limit,
            ready_timeout=10.0,
        )

    @property
    def host(self) -> str:
        return self.controller.hostname

    @property
    def port(self) -> int:
        return self.controller.port

    def start(self) -> "MailReceiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        try:
            self.controller.stop()
        finally:
            self.handler.close()

    def __enter__(self) -> "MailReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
