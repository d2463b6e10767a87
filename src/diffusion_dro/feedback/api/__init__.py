"""The feedback ingest API (FastAPI): ``create_app`` for a stand-alone server, ``feedback_router`` to mount."""

from diffusion_dro.feedback.api.app import create_app, feedback_lifespan, feedback_router

__all__ = ["create_app", "feedback_lifespan", "feedback_router"]
