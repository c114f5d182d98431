from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fenghuo.ops.archive import ArchiveError
from fenghuo.ops.backup import restore_backup


class Command(BaseCommand):
    help = (
        "从 fenghuo backup 的备份恢复到空的安装（新的数据目录和空数据库）："
        "先校验每个文件的校验和，在一个事务中载入全部数据并核对行数和审计链，再升级到本版本。"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", help="备份文件夹或 .tar 备份文件")

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]

        def progress(message: str, detail: bool = False) -> None:
            if verbosity > 1 or (verbosity == 1 and not detail):
                self.stdout.write(message)

        try:
            result = restore_backup(Path(options["source"]), progress)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        if result.missing_files:
            self.stderr.write(
                f"注意：备份时已缺少 {len(result.missing_files)} 个被引用的附件："
                + "、".join(result.missing_files[:5])
            )
        self.stdout.write(
            f"恢复完成：{result.tables} 张表，{result.rows} 行，{result.files} 个文件；"
            f"审计链 {result.audit_seq} 条，链头 {result.audit_hash}，校验通过。"
        )
