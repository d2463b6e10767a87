"""Where the feedback store lives and the limits the ingest API enforces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from diffusion_dro.errors import InputError

__all__ = ["StoreOptions", "FeedbackSettings"]


@dataclass(kw_only=True)
class StoreOptions:
    """Where the feedback store lives; shared by every ``dro feedback`` command and ``dro curate``."""

    data_root: str = field(
        default="runs/feedback",
        metadata={"help": "Folder of the feedback store: the SQLite file and content-addressed images live here."},
    )
    database_url: str | None = field(
        default=None,
        metadata={
            "help": "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db. "
            "Default: SQLite (WAL) at DATA_ROOT/feedback.db."
        },
    )
    def __post_init__(self) -> None:
        if self.database_url is not None and "://" not in self.database_url:
            raise InputError(
                f"--database_url {self.database_url!r} is not a URL; use e.g. sqlite:///path/feedback.db "
                "or postgresql+psycopg://user@host:5432/db."
            )

    @property
    def root(self) -> Path:
        return Path(self.data_root)

    @property
    def url(self) -> str:
        """The database URL in effect (SQLite under ``data_root`` unless one is given)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.root / 'feedback.db').resolve()}"


@dataclass(kw_only=True)
class FeedbackSettings(StoreOptions):
    """Store location plus the limits of the ingest API; the API takes them as a dependency."""

    max_batch: int = field(default=500, metadata={"help": "Most events or generations accepted in one request."})
    max_image_bytes: int = field(default=16 * 1024 * 1024, metadata={"help": "Largest image upload in bytes."})
    max_body_bytes: int = field(default=4 * 1024 * 1024, metadata={"help": "Largest JSON request body in bytes."})

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("max_batch", "max_image_bytes", "max_body_bytes"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise InputError(f"--{name} must be a positive integer, got {value!r}.")
