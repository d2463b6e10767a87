"""Errors of the feedback store; the API turns each into its HTTP status with ``{code, message}``."""

from __future__ import annotations

from diffusion_dro.errors import InputError

__all__ = ["FeedbackError", "NotFound", "Unprocessable", "Conflict", "TooLarge", "Unauthorized"]


class FeedbackError(InputError):
    """Base: ``status`` is the HTTP status, ``code`` a stable machine-readable name."""

    status: int = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unauthorized(FeedbackError):
    status = 401


class NotFound(FeedbackError):
    status = 404


class Conflict(FeedbackError):
    status = 409


class TooLarge(FeedbackError):
    status = 413


class Unprocessable(FeedbackError):
    status = 422
