"""A LoRA UNet run as its plain self with merged weights, differentiable: faster LoRA training.

peft runs each wrapped layer as ``base(x) + scale * B(A(x))``. For a k x k convolution at rank r
the adapter adds a k x k convolution to r channels and a 1 x 1 one back: at r = 32 on the toy's
32- and 64-channel layers nearly as much work as the base convolution itself, in the forward and
again in the backward. ``FusedLoRA`` instead builds every wrapped layer's weight
``W + scale * B @ A`` (peft's own ``get_delta_weight``, under autograd) once per forward, and runs a
peft-free view of the UNet with those weights (``torch.func.functional_call``): the base's work plus
one small product per layer, and the same outputs and adapter gradients up to rounding.

The cost is memory: one merged copy of every wrapped weight per forward, in fp32, kept for the
backward. On a CPU and a small model that is nothing; for SDXL on a GPU it is gigabytes, which is
why ``dro train --fused-lora auto`` fuses only on the CPU.
"""

from __future__ import annotations

import torch
from peft.tuners.lora import LoraLayer
from torch.func import functional_call

from diffusion_dro.models.lora import plain_unet


def lora_layers(unet: torch.nn.Module) -> dict[str, LoraLayer]:
    """The peft LoRA layers of ``unet`` by module name (the name of the layer they wrap)."""
    return {name: m for name, m in unet.named_modules() if isinstance(m, LoraLayer)}


def merged_weights(layers: dict[str, LoraLayer], adapter: str) -> dict[str, torch.Tensor]:
    """``{"<layer>.weight": W_base + delta}`` for every layer; differentiable in the adapter's A and B."""
    return {f"{name}.weight": layer.get_base_layer().weight + layer.get_delta_weight(adapter)
            for name, layer in layers.items()}


class FusedLoRA(torch.nn.Module):
    """``unet`` (with a LoRA adapter) as a module whose forward runs merged weights on a plain view.

    ``unet`` stays a registered submodule, so ``parameters()``, the optimizer, DDP and saving see the
    adapter's own A and B tensors; the plain view shares every base tensor and is not registered.
    """

    def __init__(self, unet: torch.nn.Module, adapter: str = "default"):
        super().__init__()
        self.unet, self.adapter = unet, adapter
        self.layers = lora_layers(unet)
        if not self.layers:
            raise ValueError("FusedLoRA needs a UNet with LoRA layers")
        for name, layer in self.layers.items():
            # A fused weight is only the same layer when the adapter is linear in its input.
            if not isinstance(layer.lora_dropout[adapter], torch.nn.Identity) or layer.use_dora.get(adapter, False):
                raise ValueError(f"LoRA layer {name} uses dropout or DoRA, which a merged weight cannot express; "
                                 "train it without --fused-lora")
        self._plain = [plain_unet(unet)]  # in a list: not a submodule, its tensors are the UNet's
        self._plain[0].train(unet.training)

    def train(self, mode: bool = True) -> FusedLoRA:
        super().train(mode)
        self._plain[0].train(mode)
        return self

    def forward(self, *args, **kwargs):
        return functional_call(self._plain[0], merged_weights(self.layers, self.adapter), args, kwargs)
