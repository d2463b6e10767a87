"""The documented error responses every authenticated route can give (for the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from diffusion_dro.feedback.schemas import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid X-API-Key."},
    404: {"model": ErrorResponse, "description": "Not found in the calling app."},
    413: {"model": ErrorResponse, "description": "Body or batch too large."},
}
