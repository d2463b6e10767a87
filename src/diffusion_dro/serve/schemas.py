"""Pydantic bodies of the generation endpoints and the page's own routes (apart from the ORM models).

The limits are part of the contract: at most ``MAX_IMAGES`` images and ``MAX_STEPS``
steps per request, prompts of at most ``MAX_PROMPT_CHARS`` characters. Anything
outside them is FastAPI's 422 naming the field, before the model is touched.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from diffusion_dro.feedback.schemas import Id

__all__ = ["MAX_IMAGES", "MAX_STEPS", "MAX_PROMPT_CHARS", "MAX_SEED", "MAX_GUIDANCE", "GenerateRequest",
           "ApiGenerateRequest", "GeneratedImage", "GenerateResponse", "PageInfo", "SessionOut"]

MAX_IMAGES = 8
MAX_STEPS = 100
MAX_PROMPT_CHARS = 500
MAX_SEED = 2**32 - 1
MAX_GUIDANCE = 30.0


class GenerateRequest(BaseModel):
    """What to generate. Image ``k`` uses seed ``seed + k``; without a seed the server draws one."""

    model_config = ConfigDict(extra="forbid")

    prompt: Annotated[str, Field(min_length=1, max_length=MAX_PROMPT_CHARS, examples=["a small red circle"])]
    negative_prompt: Annotated[str, Field(max_length=MAX_PROMPT_CHARS)] = ""
    guidance_scale: Annotated[float, Field(
        ge=0, le=MAX_GUIDANCE, description="Classifier-free guidance (1 = off); default: the server's --guidance_scale."
    )] | None = None
    steps: Annotated[int, Field(
        ge=1, le=MAX_STEPS, description="Sampler steps; default: the server's --steps."
    )] | None = None
    seed: Annotated[int, Field(ge=0, le=MAX_SEED - MAX_IMAGES)] | None = None
    num_images: Annotated[int, Field(ge=1, le=MAX_IMAGES)] = 4


class ApiGenerateRequest(GenerateRequest):
    """``POST /v1/generate``: an API client may name its pseudonymous user."""

    user_id: Id | None = None


class GeneratedImage(BaseModel):
    generation_id: str
    seed: int
    image_url: str = Field(description="Where to GET the image (same authentication as the request).")
    image_sha256: str


class GenerateResponse(BaseModel):
    """The generations, registered in the feedback store with their images, in display order."""

    prompt: str
    negative_prompt: str
    model: str
    adapter: str | None
    steps: int
    guidance_scale: float
    width: int
    height: int
    seconds: float = Field(description="Time spent generating, excluding the wait for the model.")
    images: list[GeneratedImage]


class SessionOut(BaseModel):
    """The page's pseudonymous user; its events must use this ``user_id`` and ids starting with ``event_prefix``."""

    user_id: str
    event_prefix: str


class PageInfo(BaseModel):
    """What the page needs to draw its controls."""

    model: str
    adapter: str | None
    resolution: int
    default_steps: int
    default_guidance_scale: float
    max_images: int = MAX_IMAGES
    max_steps: int = MAX_STEPS
    max_prompt_chars: int = MAX_PROMPT_CHARS
    example_prompts: list[str]
    prompt_rule: str | None = Field(description="The prompt grammar when the model has one (the toy), else null.")
