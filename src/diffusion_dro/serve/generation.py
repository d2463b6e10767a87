"""Generate a set of images and register it in the feedback store: the one path both endpoints take.

Each image becomes a generation (prompt, negative prompt, model, adapter, seed, steps,
CFG scale, size, owner) whose PNG bytes go to the store's content-addressed image
storage, so curation later finds exactly what the user was shown.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Callable

from PIL import Image

from diffusion_dro.feedback.schemas import GenerationIn
from diffusion_dro.feedback.store import AppRef, FeedbackStore
from diffusion_dro.serve.model import ModelService
from diffusion_dro.serve.schemas import MAX_IMAGES, MAX_SEED, GeneratedImage, GenerateRequest, GenerateResponse

__all__ = ["generate_and_store", "png_bytes"]


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def generate_and_store(
    model: ModelService,
    store: FeedbackStore,
    app: AppRef,
    request: GenerateRequest,
    *,
    user_id: str | None,
    default_steps: int,
    default_guidance_scale: float,
    image_url: Callable[[str], str],
) -> GenerateResponse:
    """Generate ``request.num_images`` images (seeds ``seed, seed+1, ...``), store and register them for ``app``."""
    model.check_prompt("prompt", request.prompt)
    if request.negative_prompt:
        model.check_prompt("negative_prompt", request.negative_prompt)
    steps = default_steps if request.steps is None else request.steps
    guidance = default_guidance_scale if request.guidance_scale is None else request.guidance_scale
    first = request.seed if request.seed is not None else secrets.randbelow(MAX_SEED - MAX_IMAGES + 1)
    seeds = [first + k for k in range(request.num_images)]
    images, seconds = model.generate(request.prompt, request.negative_prompt, seeds, steps, guidance)
    width, height = images[0].size
    ids = [f"gen-{uuid.uuid4().hex}" for _ in seeds]
    store.add_generations(app, [
        GenerationIn(generation_id=g, user_id=user_id, prompt=request.prompt, negative_prompt=request.negative_prompt,
                     model=model.model, adapter=model.adapter, seed=s, steps=steps, cfg_scale=guidance,
                     width=width, height=height)
        for g, s in zip(ids, seeds)
    ])
    acks = [store.set_image(app, g, png_bytes(im)) for g, im in zip(ids, images)]
    return GenerateResponse(
        prompt=request.prompt, negative_prompt=request.negative_prompt, model=model.model, adapter=model.adapter,
        steps=steps, guidance_scale=guidance, width=width, height=height, seconds=round(seconds, 3),
        images=[GeneratedImage(generation_id=g, seed=s, image_url=image_url(g), image_sha256=a.image_sha256)
                for g, s, a in zip(ids, seeds, acks)],
    )
