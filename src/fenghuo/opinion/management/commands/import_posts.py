"""`fenghuo import-posts FILE`: posts from .jsonl, .csv or .xlsx, with a progress bar.

CSV and Excel: the first row names the columns with the post field names (platform,
post_id, text, published_at, author, …; see `services.FIELDS`), empty cells are left out.
Errors are listed by line (the header is line 1) after the summary.
"""

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from fenghuo.opinion import services


def _rows(header: list[Any], rows: Iterator[tuple | list]) -> Iterator[dict[str, Any]]:
    names = [str(name).strip() if name is not None else "" for name in header]
    for row in rows:
        yield {
            name: value
            for name, value in zip(names, row, strict=False)
            if name and value not in (None, "")
        }


def read(path: Path) -> tuple[Iterator[dict[str, Any] | services.Malformed], int, int]:
    """Items, the line number of the first, and how many there are (for the bar)."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        data = path.read_bytes()
        return services.parse_jsonl(data), 1, len(data.splitlines())
    if suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
        rows = list(csv.reader(io.StringIO(text)))
        if not rows:
            raise CommandError("文件为空")
        return _rows(rows[0], iter(rows[1:])), 2, len(rows) - 1
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise CommandError("文件为空")
        return _rows(list(header), rows), 2, max((sheet.max_row or 1) - 1, 0)
    raise CommandError("只支持 .jsonl、.csv 和 .xlsx 文件")


class Command(BaseCommand):
    help = "从 .jsonl / .csv / .xlsx 文件导入舆情帖子（重复的帖子只保存一次）"

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", default="", help="来源说明，默认为文件名")

    def handle(self, *args: Any, file: Path, source: str, **options: Any) -> None:
        if not file.is_file():
            raise CommandError(f"找不到文件：{file}")
        items, first_line, total = read(file)
        bar = tqdm(items, total=total, unit="条", desc="导入", file=self.stderr._out)
        result = services.ingest(bar, source=source or f"import:{file.name}", first_line=first_line)
        bar.close()
        self.stdout.write(
            f"共 {result.received} 行：新增 {result.stored} 条，重复 {result.duplicates} 条，"
            f"错误 {len(result.errors)} 行"
        )
        for error in result.errors:
            messages = "；".join(
                f"{'' if name == '__all__' else name + '：'}{'，'.join(texts)}"
                for name, texts in error.errors.items()
            )
            self.stdout.write(f"第 {error.line} 行：{messages}")
