"""Errors of the serving app beyond the feedback API's: each is a ``FeedbackError`` so one handler renders them all."""

from __future__ import annotations

from diffusion_dro.feedback.errors import FeedbackError

__all__ = ["Forbidden", "Busy"]


class Forbidden(FeedbackError):
    """The page session may not do this (another user's generation or event ids)."""

    status = 403


class Busy(FeedbackError):
    """Too many generation requests are already waiting for the model."""

    status = 503
