"""The page: ``GET /`` (HTML), ``GET /page/info`` (model and limits) and ``POST /page/session`` (cookie)."""

from __future__ import annotations

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import HTMLResponse

from diffusion_dro.serve.deps import ConfigDep, ModelDep, SessionsDep
from diffusion_dro.serve.schemas import PageInfo, SessionOut
from diffusion_dro.serve.sessions import COOKIE, MAX_AGE_S

router = APIRouter(tags=["page"])

# The page loads only its own script, style and images: no inline code, nothing from elsewhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    html = files("diffusion_dro.serve").joinpath("static/index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=SECURITY_HEADERS)


@router.get("/page/info", response_model=PageInfo)
def page_info(model: ModelDep, config: ConfigDep) -> PageInfo:
    return PageInfo(model=model.model, adapter=model.adapter, resolution=model.resolution,
                    default_steps=config.steps, default_guidance_scale=config.guidance_scale,
                    example_prompts=model.example_prompts(), prompt_rule=model.prompt_rule())


@router.post("/page/session", response_model=SessionOut)
def page_session(request: Request, response: Response, sessions: SessionsDep,
                 token: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> SessionOut:
    """The session in the cookie, or a new pseudonymous user with a fresh cookie (HttpOnly, SameSite=Strict)."""
    user = sessions.user_of(token)
    if user is None:
        user, token = sessions.new()
        response.set_cookie(COOKIE, token, max_age=MAX_AGE_S, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")
    return SessionOut(user_id=user, event_prefix=sessions.event_prefix(user))
