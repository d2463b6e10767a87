"""Which half precision pays off on this CPU.

oneDNN runs bf16 convolutions and matmuls natively only with AVX-512 (BW/VL/DQ, and
fastest with the BF16 extension); on AVX2 alone PyTorch emulates them. Measured on the
toy base (``benchmarks/app_images.py --settings 6,3,fp32 6,3,bf16``): 1.5x faster than
fp32 on an AMD EPYC with AVX-512 BF16, 22x *slower* on one with AVX2 only.
"""

from __future__ import annotations

import torch


def cpu_bf16_is_fast() -> bool:
    """True where oneDNN has bf16 kernels for this CPU (AVX-512 or Arm BF16), so bf16 weights are worth it."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return bool(torch.backends.mkldnn.is_available() and check is not None and check())
