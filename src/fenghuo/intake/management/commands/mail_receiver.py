"""`fenghuo mail-receiver`: receive e-mailed reports over SMTP (see fenghuo.intake.smtp).

Listens on FENGHUO_SMTP_HOST:FENGHUO_SMTP_PORT (default 127.0.0.1:2525) until SIGINT or
SIGTERM; each message is stored and becomes a draft report for a duty officer.
"""

import logging
import os
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from fenghuo.intake.smtp import MailReceiver


class Command(BaseCommand):
    help = "接收电子邮件报送（SMTP）：每封邮件保存后生成报告草稿，由值班员确认"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", help="监听地址（默认 FENGHUO_SMTP_HOST 或 127.0.0.1）")
        parser.add_argument("--port", type=int, help="监听端口（默认 FENGHUO_SMTP_PORT 或 2525）")

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"] or os.environ.get("FENGHUO_SMTP_HOST", "127.0.0.1")
        try:
            port = int(options["port"] or os.environ.get("FENGHUO_SMTP_PORT", "2525"))
        except ValueError as exc:
            raise CommandError("FENGHUO_SMTP_PORT 须为端口号") from exc
        # aiosmtpd logs every SMTP command at INFO; keep its warnings and errors only.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        receiver = MailReceiver(host, port)
        try:
            receiver.start()
        except (OSError, TimeoutError) as exc:
            receiver.handler.close()
            raise CommandError(f"无法在 {host}:{port} 上接收邮件：{exc}") from exc
        self.stdout.write(f"邮件接收服务已启动：{host}:{receiver.port}（按 Ctrl-C 停止）")
        self.stdout.flush()
        try:
            while not stop.wait(1.0):
                pass
        finally:
            receiver.stop()
        self.stdout.write("邮件接收服务已停止。")
