"""Assembling the serving app: the feedback ingest API, generation, and the page.

``create_app`` builds everything without opening or loading anything; the lifespan
opens the store (migrating it), makes sure the built-in app exists, reads the
session secret and loads the model, in that order, before the first request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from diffusion_dro.feedback.api import create_app as create_feedback_app
from diffusion_dro.feedback.api.app import BodyLimit, feedback_lifespan, feedback_router, install_errors
from diffusion_dro.feedback.errors import NotFound
from diffusion_dro.feedback.store import AppRef, FeedbackStore
from diffusion_dro.serve.config import ServeAppConfig
from diffusion_dro.serve.model import ModelService
from diffusion_dro.serve.routers import generate, page, page_events
from diffusion_dro.serve.sessions import PageSessions

__all__ = ["create_app", "ensure_app"]


def ensure_app(store: FeedbackStore, name: str) -> AppRef:
    """The feedback app ``name``, created if missing. Its key is not kept: the server acts for it directly."""
    try:
        return store.app(name)
    except NotFound:
        store.create_app(name)
        return store.app(name)


def create_app(config: ServeAppConfig, ready: Callable[[], None] | None = None) -> FastAPI:
    """The web app (page, ``/v1/generate``, ingest API), or with ``config.api_only`` the ingest API alone.

    ``ready`` is called once the model has loaded, just before the first request is served.
    """
    settings = config.feedback_settings()
    if config.api_only:
        return create_feedback_app(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with feedback_lifespan(app, settings):
            app.state.page_app = ensure_app(app.state.feedback_store, config.app_name)
            app.state.sessions = PageSessions.from_data_root(settings.root)
            app.state.model = await run_in_threadpool(ModelService.load, config)
            if ready is not None:
                ready()
            yield

    app = FastAPI(
        title="diffusion-dro serve",
        version="1",
        description="Generate images and collect implicit feedback on them (see docs/serve.md and docs/feedback.md).",
        lifespan=lifespan,
    )
    app.state.serve_config = config
    app.state.feedback_settings = settings
    app.include_router(feedback_router())
    for module in (generate, page, page_events):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("diffusion_dro.serve", "static")]), name="static")
    install_errors(app)
    app.add_middleware(BodyLimit, settings=settings)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok", "model": config.model}

    return app
