from django.core.management.base import BaseCommand, CommandError

from fenghuo.core.selectors import verify_audit_chain
from fenghuo.core.services import audit_chain_pending


class Command(BaseCommand):
    help = "校验审计链：逐条重算哈希，报告第一处断链"

    def handle(self, *args, **options) -> None:
        audit_chain_pending()  # so the check covers everything committed before it
        result = verify_audit_chain()
        if not result.ok:
            raise CommandError(
                f"审计链在第 {result.broken_seq} 条断开：{result.reason}"
                f"（此前 {result.checked} 条校验通过）"
            )
        self.stdout.write(f"审计链完好：共 {result.checked} 条，链头哈希 {result.head_hash}")
        if result.unlinked:
            self.stdout.write(f"另有 {result.unlinked} 条在校验期间写入，尚未链接")
