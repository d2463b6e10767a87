"""The model the app generates with: loaded once in the lifespan, used by one request at a time.

Generation is CPU/GPU-bound and a backbone is not safe to drive from two threads at
once, so ``ModelService.generate`` runs under a lock (callers are FastAPI sync routes,
i.e. already off the event loop in the threadpool). At most ``max_waiting`` requests
queue for the lock; more are refused with 503 instead of tying up every worker thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from PIL import Image

from diffusion_dro.errors import InputError
from diffusion_dro.feedback.errors import Unprocessable
from diffusion_dro.models.backbone import Backbone
from diffusion_dro.sample.generate import SampleSettings, generate
from diffusion_dro.sample.images import to_pil
from diffusion_dro.serve.config import ServeAppConfig
from diffusion_dro.serve.errors import Busy

__all__ = ["ModelService", "TOY_PROMPT_RULE"]

TOY_PROMPT_RULE = "a {size} {colour} {shape}"
GENERIC_EXAMPLES = ["a watercolour fox in the snow", "a lighthouse at dusk, oil painting",
                    "a bowl of ramen, studio photo"]


class ModelService:
    def __init__(self, backbone: Backbone, *, model: str, adapter: str | None, scheduler: str,
                 max_waiting: int) -> None:
        self.backbone = backbone
        self.model, self.adapter, self.scheduler = model, adapter, scheduler
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._gate = threading.Lock()
        self._inside = 0  # requests running or waiting for ``_lock``

    @classmethod
    def load(cls, config: ServeAppConfig) -> ModelService:
        from diffusion_dro.models.loading import load_backbone
        from diffusion_dro.sample.command import DTYPES, resolve_device

        device, dtype = resolve_device(config.device), DTYPES[config.dtype]
        backbone = load_backbone(config.model, config.adapter, device=device, dtype=dtype)
        return cls(backbone, model=config.model, adapter=config.adapter, scheduler=config.scheduler,
                   max_waiting=config.max_waiting)

    @property
    def resolution(self) -> int:
        return self.backbone.resolution

    def check_prompt(self, field: str, prompt: str) -> None:
        """422 ``invalid_prompt`` naming ``field`` when the model cannot read ``prompt`` (the toy's vocabulary)."""
        try:
            self.backbone.check_prompts([prompt])
        except InputError as e:
            raise Unprocessable("invalid_prompt", f"{field}: {e}") from e

    def example_prompts(self) -> list[str]:
        if self.backbone.kind != "toy":
            return list(GENERIC_EXAMPLES)
        from diffusion_dro.toy.world import prompts_for

        return prompts_for("train")[::9][:6]

    def prompt_rule(self) -> str | None:
        if self.backbone.kind != "toy":
            return None
        from diffusion_dro.toy.world import COLOURS, SHAPES, SIZES

        return (f"{TOY_PROMPT_RULE} with size in {', '.join(SIZES)}; colour in {', '.join(COLOURS)}; "
                f"shape in {', '.join(SHAPES)}")

    def generate(self, prompt: str, negative_prompt: str, seeds: Sequence[int], steps: int,
                 guidance_scale: float) -> tuple[list[Image.Image], float]:
        """Images for ``prompt`` with one seed each, and the seconds spent generating (not waiting)."""
        settings = SampleSettings(steps, guidance_scale, self.scheduler, negative_prompt)
        with self._gate:
            if self._inside > self.max_waiting:
                raise Busy("busy", f"{self._inside} generation requests are already running or waiting (the limit is "
                           f"1 + --max_waiting {self.max_waiting}); retry in a few seconds.")
            self._inside += 1
        try:
            with self._lock:
                start = time.perf_counter()
                images = to_pil(generate(self.backbone, [prompt] * len(seeds), list(seeds), settings))
                return images, time.perf_counter() - start
        finally:
            with self._gate:
                self._inside -= 1
