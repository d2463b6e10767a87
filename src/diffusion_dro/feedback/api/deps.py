"""Dependencies of the API: settings, store and the calling app. Tests override the first two.

The store and settings live on ``app.state`` (put there by ``feedback_lifespan``),
so a host application that mounts ``feedback_router`` opens them in its own lifespan.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader

from diffusion_dro.feedback.settings import FeedbackSettings
from diffusion_dro.feedback.store import AppRef, FeedbackStore

__all__ = ["get_settings", "get_store", "current_app", "SettingsDep", "StoreDep", "AppDep", "IdPath"]

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The app's API key (`dro feedback create-app`).")


def get_settings(request: Request) -> FeedbackSettings:
    return request.app.state.feedback_settings


def get_store(request: Request) -> FeedbackStore:
    return request.app.state.feedback_store


StoreDep = Annotated[FeedbackStore, Depends(get_store)]
SettingsDep = Annotated[FeedbackSettings, Depends(get_settings)]


def current_app(store: StoreDep, key: Annotated[str | None, Security(api_key_header)]) -> AppRef:
    """The app whose key was sent; 401 otherwise. Every read and write is scoped to it."""
    return store.authenticate(key)


AppDep = Annotated[AppRef, Depends(current_app)]
IdPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
