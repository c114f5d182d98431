"""Grading over the API: what the criteria say about a case (reads nothing confidential:
the criteria are the same for every caller)."""

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router

from fenghuo.criteria import services
from fenghuo.criteria.engine import LEVEL_LABELS, target_reason
from fenghuo.criteria.models import FIGURES
from fenghuo.criteria.schemas import EvaluateIn, FieldErrors, GradingOut

router = Router(tags=["报送标准"])


def _aware(moment: datetime | None) -> datetime | None:
    return timezone.make_aware(moment) if moment and timezone.is_naive(moment) else moment


@router.post(
    "/criteria/evaluate",
    response={200: GradingOut, 422: FieldErrors},
    summary="按报送标准试算等级、报送层级和时限",
)
def evaluate(request: HttpRequest, payload: EvaluateIn) -> dict:
    facts = services.case_facts(
        category=payload.category,
        occurred_at=_aware(payload.occurred_at),
        division_code=payload.division_code,
        unit=payload.unit_id,
        figures={name: getattr(payload, name) for name in FIGURES},
        text=payload.text,
        flags=payload.flags,
        is_drill=payload.is_drill,
    )
    grading = services.evaluate(facts, at=_aware(payload.at))
    return {
        **grading.__dict__,
        "reasons": list(grading.reasons),
        "targets": [
            {
                **t.__dict__,
                "level_label": LEVEL_LABELS.get(t.level, t.level),
                "text": target_reason(t),
            }
            for t in grading.targets
        ],
    }
