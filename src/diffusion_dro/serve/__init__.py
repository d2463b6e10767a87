"""The serving app: a page where users generate images and give implicit feedback, over the feedback store.

``create_app(ServeAppConfig(...))`` builds the FastAPI app; nothing opens or loads
until its lifespan starts. Needs the ``service`` extra (FastAPI, SQLAlchemy, uvicorn).
"""

from diffusion_dro.serve.app import create_app
from diffusion_dro.serve.config import ServeAppConfig

__all__ = ["create_app", "ServeAppConfig"]
