from django.core.management.base import BaseCommand

from fenghuo import demo
from fenghuo.org.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "载入演示数据：虚构的示范省（单位、人员、角色、值班表）、几份示例报告和网络帖子"

    def handle(self, *args, **options) -> None:
        counts = demo.seed()
        if not counts["units"]:
            self.stdout.write("演示数据已存在，未重复载入。")
            return
        self.stdout.write(
            f"已载入演示数据：{counts['units']} 个单位，{counts['people']} 名人员，"
            f"{counts['shifts']} 个值班班次，{counts['reports']} 份示例报告，"
            f"{counts['posts']} 条网络帖子。"
            f"演示账号密码均为 {DEMO_PASSWORD}"
        )
