"""Assembling the API: routers, error bodies, request-size limits and the store's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from diffusion_dro.feedback.api import events, generations, stats
from diffusion_dro.feedback.errors import FeedbackError
from diffusion_dro.feedback.settings import FeedbackSettings
from diffusion_dro.feedback.store import FeedbackStore

__all__ = ["create_app", "feedback_router", "feedback_lifespan", "BodyLimit"]


def feedback_router() -> APIRouter:
    """All feedback routes under ``/v1``; the host app must run ``feedback_lifespan`` and ``install_errors``."""
    router = APIRouter()
    for module in (generations, events, stats):
        router.include_router(module.router)
    return router


@asynccontextmanager
async def feedback_lifespan(app: FastAPI, settings: FeedbackSettings) -> AsyncIterator[None]:
    """Open the store (migrating the schema) on start-up and close it on shutdown."""
    app.state.feedback_settings = settings
    app.state.feedback_store = FeedbackStore(settings)
    try:
        yield
    finally:
        app.state.feedback_store.close()


def install_errors(app: FastAPI) -> None:
    async def on_feedback_error(_: Request, exc: FeedbackError) -> JSONResponse:
        headers = {"WWW-Authenticate": "ApiKey"} if exc.status == 401 else None
        return JSONResponse({"detail": {"code": exc.code, "message": exc.message}}, exc.status, headers=headers)

    app.add_exception_handler(FeedbackError, on_feedback_error)


class BodyLimit:
    """Refuse bodies over the limit (413) before they are read; image uploads get their own limit.

    A body must announce its size (Content-Length); chunked uploads get 411.
    """

    def __init__(self, app: ASGIApp, settings: FeedbackSettings) -> None:
        self.app, self.settings = app, settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        image = scope["path"].endswith("/image")
        limit = self.settings.max_image_bytes if image else self.settings.max_body_bytes
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is None and b"transfer-encoding" in headers:
            body = {"code": "length_required", "message": "send the body with a Content-Length header."}
            return await JSONResponse({"detail": body}, 411)(scope, receive, send)
        if length is not None and (not length.isdigit() or int(length) > limit):
            body = {"code": "body_too_large",
                    "message": f"the request body is {length.decode(errors='replace')} bytes; the limit here is {limit} "
                               "bytes. Split batches or shrink the image."}
            return await JSONResponse({"detail": body}, 413)(scope, receive, send)
        return await self.app(scope, receive, send)


def create_app(settings: FeedbackSettings) -> FastAPI:
    """The stand-alone ingest API (``dro feedback serve``). Nothing is opened until the lifespan starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with feedback_lifespan(app, settings):
            yield

    app = FastAPI(
        title="diffusion-dro feedback",
        version="1",
        description="Ingest implicit feedback on generated images (see docs/feedback.md).",
        lifespan=lifespan,
    )
    app.state.feedback_settings = settings
    app.include_router(feedback_router())
    install_errors(app)
    app.add_middleware(BodyLimit, settings=settings)

    @app.get("/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
