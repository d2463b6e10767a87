"""Image preprocessing for CLIP-style scorers, in torch (no torchvision, differentiable).

Mirrors the evaluation transforms of CLIP, open_clip and BLIP: resize the short
side to ``size`` with bicubic interpolation, centre-crop ``size`` x ``size``,
normalise per channel. PIL's bicubic differs from torch's by a few 1e-3 in pixel
value; scores move accordingly little.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["OPENAI_MEAN", "OPENAI_STD", "resize_center_crop", "normalize", "to_model_pixels"]

# The CLIP training statistics; PickScore, CLIP, HPSv2 (open_clip ViT-H-14) and
# ImageReward (BLIP) all normalise with them.
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


def resize_center_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize the short side to ``size`` (bicubic, antialiased) and centre-crop a square.

    Args:
        images: (B, 3, H, W) floats in [0, 1].
        size: output side in pixels.

    Returns:
        (B, 3, size, size), clamped to [0, 1] as an 8-bit pipeline would be.
    """
    height, width = images.shape[-2:]
    if min(height, width) != size:
        scale = size / min(height, width)
        new_h, new_w = max(size, int(height * scale)), max(size, int(width * scale))
        images = F.interpolate(images, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True)
        images = images.clamp(0.0, 1.0)
        height, width = new_h, new_w
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return images[..., top:top + size, left:left + size]


def normalize(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(images - mean) / std per channel; images (B, 3, H, W), mean and std of length 3."""
    mean_t = torch.tensor(mean, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=images.device, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - mean_t) / std_t


def to_model_pixels(images: torch.Tensor, size: int, mean: tuple[float, ...] = OPENAI_MEAN,
                    std: tuple[float, ...] = OPENAI_STD) -> torch.Tensor:
    """Images (B, 3, H, W) in [0, 1] -> normalised model input (B, 3, size, size)."""
    return normalize(resize_center_crop(images, size), mean, std)
