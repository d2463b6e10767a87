"""``dro demo``: the whole loop on the toy world: feedback -> curation -> DRO and SFT -> evaluation -> report."""

from diffusion_dro.demo.config import DemoConfig
from diffusion_dro.demo.run import run_demo

__all__ = ["DemoConfig", "run_demo"]
