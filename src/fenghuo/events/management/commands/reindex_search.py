from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, transaction

from fenghuo.events.search import rebuild_index


class Command(BaseCommand):
    help = "重建报告全文检索索引（分词后写入 SQLite FTS5 或 PostgreSQL 全文索引）"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="数据库别名（默认 default）"
        )

    def handle(self, *args, **options) -> None:
        using = options["database"]
        with transaction.atomic(using=using):
            count = rebuild_index(using)
        self.stdout.write(f"全文检索索引已重建：共 {count} 份报告")
