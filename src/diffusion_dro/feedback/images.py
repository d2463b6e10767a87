"""Content-addressed image files under the data root.

An image is stored at ``<root>/images/<sha[:2]>/<sha><suffix>`` where ``sha`` is the
SHA-256 of its bytes. Paths are built only from that hash and a suffix taken from
the decoded format, never from anything a user sent, so uploads cannot escape the
root or overwrite each other. Writes go to a temp file, are fsynced, then renamed.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from diffusion_dro.feedback.errors import Unprocessable

__all__ = ["ImageStore", "FORMAT_SUFFIX"]

FORMAT_SUFFIX: dict[str, str] = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp"}


class ImageStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root) / "images"

    def path(self, sha256: str, suffix: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256) or suffix not in FORMAT_SUFFIX.values():
            raise ValueError(f"not a content address: {sha256!r}{suffix!r}")
        return self.root / sha256[:2] / f"{sha256}{suffix}"

    def put(self, data: bytes) -> tuple[str, str]:
        """Store ``data`` (PNG, JPEG or WebP); return ``(sha256, suffix)``. Same bytes, same file."""
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                img.verify()
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
            raise Unprocessable("invalid_image", f"the uploaded bytes are not a readable image ({e}); send PNG, JPEG or WebP.") from e
        if fmt not in FORMAT_SUFFIX:
            raise Unprocessable("unsupported_image_format", f"image format {fmt} is not accepted; send PNG, JPEG or WebP.")
        sha = hashlib.sha256(data).hexdigest()
        suffix = FORMAT_SUFFIX[fmt]
        target = self.path(sha, suffix)
        if target.exists():
            return sha, suffix
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha, suffix
