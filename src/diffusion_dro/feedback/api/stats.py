"""``/v1/stats``: what the calling app has stored."""

from __future__ import annotations

from fastapi import APIRouter

from diffusion_dro.feedback.api.deps import AppDep, StoreDep
from diffusion_dro.feedback.api.responses import ERRORS
from diffusion_dro.feedback.schemas import Stats

router = APIRouter(prefix="/v1/stats", tags=["stats"], responses=ERRORS)


@router.get("", response_model=Stats)
def read_stats(app: AppDep, store: StoreDep) -> Stats:
    return store.stats(app)
