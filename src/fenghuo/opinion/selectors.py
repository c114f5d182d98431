"""Reads of the opinion app, through the access policy.

Posts are open-source material: any analyst (舆情分析员) or duty officer (值班员) reads
all of them, whatever their unit; other roles read none. Schemes belong to their owner's
unit: `policy.visible_q` gives that unit and the units above it (and the owner).
"""

from django.db.models import QuerySet

from fenghuo.opinion.models import Post, Scheme
from fenghuo.org.models import Role
from fenghuo.org.policy import Principal, visible_q

POST_READERS = frozenset({Role.ANALYST, Role.DUTY_OFFICER})


def may_read_posts(principal: Principal) -> bool:
    return principal.is_superuser or any(g.role in POST_READERS for g in principal.grants)


def posts_visible(principal: Principal) -> QuerySet[Post]:
    if not may_read_posts(principal):
        return Post.objects.none()
    return Post.objects.all()


def recent_posts(principal: Principal, limit: int) -> QuerySet[Post]:
    return posts_visible(principal).order_by("-received_at", "-pk")[:limit]


def schemes_visible(principal: Principal) -> QuerySet[Scheme]:
    q = visible_q(principal, owner="owner_unit", mark=None, author="owner")
    return Scheme.objects.filter(q).select_related("owner_unit", "owner")
