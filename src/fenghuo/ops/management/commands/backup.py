from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fenghuo.ops.archive import ArchiveError
from fenghuo.ops.backup import create_backup


class Command(BaseCommand):
    help = (
        "备份：在一个一致的快照中写出数据库全部表、数据目录中的附件等文件、审计链头和带校验和的清单。"
        "目标以 .tar 结尾时写成一个文件，否则写成一个文件夹；网站和工作进程可以照常运行。"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("target", help="新的备份文件夹，或以 .tar 结尾的备份文件（不能已存在）")

    def handle(self, *args, **options) -> None:
        verbosity = options["verbosity"]

        def progress(message: str, detail: bool = False) -> None:
            if verbosity > 1 or (verbosity == 1 and not detail):
                self.stdout.write(message)

        target = Path(options["target"])
        try:
            manifest = create_backup(target, progress)
        except ArchiveError as exc:
            raise CommandError(str(exc)) from None
        rows = sum(table["rows"] for table in manifest["tables"])
        audit = manifest["audit"]
        self.stdout.write(
            f"备份完成：{target}（{len(manifest['tables'])} 张表，{rows} 行，"
            f"{len(manifest['files'])} 个文件；审计链 {audit['seq']} 条，链头 {audit['hash']}）"
        )
