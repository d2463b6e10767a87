"""``ServeAppConfig``: everything ``dro serve`` takes, one field per flag."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from diffusion_dro.errors import InputError
from diffusion_dro.feedback.commands import ServeConfig
from diffusion_dro.feedback.settings import FeedbackSettings
from diffusion_dro.feedback.store import APP_NAME
from diffusion_dro.models.schedulers import check_scheduler_name
from diffusion_dro.serve.schemas import MAX_GUIDANCE, MAX_STEPS

__all__ = ["ServeAppConfig"]


@dataclass(kw_only=True)
class ServeAppConfig(ServeConfig):
    """The web app: the feedback store and ingest API (inherited from ``dro feedback serve``), a model and a page."""

    model: str = field(default="toy", metadata={"help": "Model to generate with: 'toy', a diffusers folder or a hub id."})
    adapter: str | None = field(
        default=None, metadata={"help": "LoRA folder (pytorch_lora_weights.safetensors) on top of --model."}
    )
    device: str = field(default="auto", metadata={"help": "'auto' (cuda if available), 'cpu', 'cuda', 'cuda:1', ..."})
    dtype: Literal["fp32", "fp16", "bf16"] = field(default="fp32", metadata={"help": "Weights' dtype."})
    steps: int = field(
        default=20, metadata={"help": f"Sampler steps when a request gives none (a request may ask 1-{MAX_STEPS})."}
    )
    guidance_scale: float = field(
        default=3.0, metadata={"help": "Classifier-free guidance scale when a request gives none (1 = off)."}
    )
    scheduler: str = field(default="dpmsolver++", metadata={"help": "Sampler name (see models.SCHEDULERS)."})
    app_name: str = field(
        default="web",
        metadata={"help": "Feedback app that owns the page's generations and events; created on start-up if missing."},
    )
    api_only: bool = field(
        default=False,
        metadata={"help": "Serve only the feedback ingest API (same as `dro feedback serve`): "
                          "no model, no page, no /v1/generate."},
    )
    max_waiting: int = field(
        default=8, metadata={"help": "Generation requests allowed to wait for the model; more get 503 busy."}
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.steps <= MAX_STEPS:
            raise InputError(f"--steps must be in 1..{MAX_STEPS}, got {self.steps}.")
        if not 0 <= self.guidance_scale <= MAX_GUIDANCE:
            raise InputError(f"--guidance_scale must be in [0, {MAX_GUIDANCE}] (1 means no guidance), "
                             f"got {self.guidance_scale}.")
        if self.max_waiting < 0:
            raise InputError(f"--max_waiting must be >= 0, got {self.max_waiting}.")
        if not 0 < self.port < 65536:
            raise InputError(f"--port must be in 1..65535, got {self.port}.")
        if not APP_NAME.match(self.app_name):
            raise InputError(f"--app_name {self.app_name!r} must be 1-64 lowercase letters, digits, '_' or '-', "
                             "starting with a letter or digit.")
        check_scheduler_name(self.scheduler)

    def feedback_settings(self) -> FeedbackSettings:
        """The store location and ingest limits, as the feedback API takes them."""
        return FeedbackSettings(**{k: getattr(self, k) for k in FeedbackSettings.__dataclass_fields__})

    @property
    def address(self) -> str:
        """Where the app answers, e.g. ``http://127.0.0.1:8000/`` (``url`` is the database URL)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"
