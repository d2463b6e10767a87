"""Milliseconds per call of the toy UNet on one CPU thread: the costs a DRO update is made of.

Run: python benchmarks/unet_speed.py [--calls 20]
Forward at batch 2 (a rollout step), at batch 16 (the reference on experts + negatives), forward + backward at
batch 8 (all weights trainable), each in the default and the channels-last memory format.
"""

from __future__ import annotations

import argparse
import time

import torch

from diffusion_dro.models.loading import load_backbone


def timed(unet: torch.nn.Module, kwargs: dict, batch: int, backward: bool, calls: int) -> float:
    x, t = torch.randn(batch, 3, 32, 32), torch.randint(0, 1000, (batch,))
    kw = {k: v[:batch] for k, v in kwargs.items()}
    unet.requires_grad_(backward)

    def call() -> None:
        if backward:
            unet(x, t, **kw).sample.pow(2).mean().backward()
        else:
            with torch.no_grad():
                unet(x, t, **kw).sample

    for _ in range(3):
        call()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    backbone = load_backbone("toy", device="cpu")
    kwargs = backbone.encode_prompts(["a small red square"] * 16).unet_kwargs()
    for fmt in (torch.contiguous_format, torch.channels_last):
        unet = backbone.unet.to(memory_format=fmt)
        row = [f"forward b2 {timed(unet, kwargs, 2, False, args.calls):.1f}",
               f"forward b16 {timed(unet, kwargs, 16, False, args.calls):.1f}",
               f"forward+backward b8 {timed(unet, kwargs, 8, True, args.calls):.1f}"]
        print(f"{str(fmt).removeprefix('torch.'):<18} " + ", ".join(row) + " ms")


if __name__ == "__main__":
    main()
