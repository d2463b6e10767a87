"""``dro demo``: the whole loop on the toy world: feedback -> curation -> DRO and SFT -> evaluation -> report."""

from diffusion_dro.demo.config import DemoConfig

__all__ = ["DemoConfig", "run_demo"]


def __getattr__(name: str):
    if name == "run_demo":  # heavy imports only when the demo runs
        from diffusion_dro.demo.run import run_demo

        return run_demo
    raise AttributeError(name)
