"""Generation: ``POST /v1/generate`` for API clients (X-API-Key), ``POST /page/generate`` for the page (session cookie).

Both are sync routes, so FastAPI runs them in its threadpool and the event loop keeps
serving events and images while the model works; ``ModelService`` serialises the model.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from diffusion_dro.feedback.api.deps import AppDep, StoreDep
from diffusion_dro.feedback.api.responses import ERRORS
from diffusion_dro.feedback.schemas import ErrorResponse
from diffusion_dro.serve.deps import ConfigDep, ModelDep, PageAppDep, PageUserDep
from diffusion_dro.serve.generation import generate_and_store
from diffusion_dro.serve.schemas import ApiGenerateRequest, GenerateRequest, GenerateResponse

router = APIRouter(tags=["generate"])

GENERATE_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorResponse, "description": "A prompt the model cannot read (`invalid_prompt`), or a field "
          "outside its limits (FastAPI's list of `{loc, msg, type}`)."},
    503: {"model": ErrorResponse, "description": "`busy`: too many requests are waiting for the model; retry."},
}


@router.post("/v1/generate", response_model=GenerateResponse, responses=ERRORS | GENERATE_ERRORS)
def generate_for_api(body: ApiGenerateRequest, app: AppDep, store: StoreDep, model: ModelDep,
                     config: ConfigDep) -> GenerateResponse:
    """Generate images with the served model, store them and register them as generations of the key's app.

    Images are then at ``GET /v1/generations/{id}/image``; report what the user did with
    ``POST /v1/events`` as for any other generation.
    """
    return generate_and_store(model, store, app, body, user_id=body.user_id, default_steps=config.steps,
                              default_guidance_scale=config.guidance_scale,
                              image_url=lambda g: f"/v1/generations/{g}/image")


@router.post("/page/generate", response_model=GenerateResponse,
             responses={401: {"model": ErrorResponse, "description": "No page session."}} | GENERATE_ERRORS)
def generate_for_page(body: GenerateRequest, user: PageUserDep, app: PageAppDep, store: StoreDep, model: ModelDep,
                      config: ConfigDep) -> GenerateResponse:
    """The page's generation: owned by the session's user in the built-in app."""
    return generate_and_store(model, store, app, body, user_id=user, default_steps=config.steps,
                              default_guidance_scale=config.guidance_scale,
                              image_url=lambda g: f"/page/generations/{g}/image")
