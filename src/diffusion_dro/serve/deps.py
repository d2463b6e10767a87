"""Dependencies of the serving routes: config, model, the built-in app and the page session.

Everything lives on ``app.state`` (put there by the lifespan in ``serve.app``), so
tests can override any of these with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Request

from diffusion_dro.feedback.errors import Unauthorized
from diffusion_dro.feedback.store import AppRef
from diffusion_dro.serve.config import ServeAppConfig
from diffusion_dro.serve.model import ModelService
from diffusion_dro.serve.sessions import COOKIE, PageSessions

__all__ = ["get_config", "get_model", "get_page_app", "get_sessions", "page_user",
           "ConfigDep", "ModelDep", "PageAppDep", "SessionsDep", "PageUserDep"]


def get_config(request: Request) -> ServeAppConfig:
    return request.app.state.serve_config


def get_model(request: Request) -> ModelService:
    return request.app.state.model


def get_page_app(request: Request) -> AppRef:
    return request.app.state.page_app


def get_sessions(request: Request) -> PageSessions:
    return request.app.state.sessions


ConfigDep = Annotated[ServeAppConfig, Depends(get_config)]
ModelDep = Annotated[ModelService, Depends(get_model)]
PageAppDep = Annotated[AppRef, Depends(get_page_app)]
SessionsDep = Annotated[PageSessions, Depends(get_sessions)]


def page_user(sessions: SessionsDep, token: Annotated[str | None, Cookie(alias=COOKIE)] = None) -> str:
    """The page session's pseudonymous user; 401 ``no_session`` without a valid cookie."""
    user = sessions.user_of(token)
    if user is None:
        raise Unauthorized("no_session", "this request has no valid page session; reload the page "
                           "(POST /page/session starts one and sets the cookie).")
    return user


PageUserDep = Annotated[str, Depends(page_user)]
