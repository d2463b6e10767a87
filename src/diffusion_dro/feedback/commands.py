"""``dro feedback create-app | stats | serve``: thin runners over the store and the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import ClassVar

from diffusion_dro.feedback.settings import FeedbackSettings, StoreOptions

__all__ = ["CreateAppConfig", "StatsConfig", "ServeConfig", "create_app_command", "stats_command", "serve_command"]


@dataclass(kw_only=True)
class CreateAppConfig(StoreOptions):
    positional: ClassVar[tuple[str, ...]] = ("name",)
    name: str = field(metadata={"help": "Name of the new app: lowercase letters, digits, '_' and '-'."})


@dataclass(kw_only=True)
class StatsConfig(StoreOptions):
    app: str | None = field(default=None, metadata={"help": "Only this app (default: every app)."})


@dataclass(kw_only=True)
class ServeConfig(FeedbackSettings):
    host: str = field(default="127.0.0.1", metadata={"help": "Interface to listen on."})
    port: int = field(default=8000, metadata={"help": "TCP port to listen on."})


def create_app_command(cfg: CreateAppConfig) -> str:
    """Create the app and print its API key; the key is shown this once and stored only hashed."""
    from diffusion_dro.feedback.store import FeedbackStore

    store = FeedbackStore(cfg)
    try:
        key = store.create_app(cfg.name)
    finally:
        store.close()
    print(f"app {cfg.name!r} created. Its API key (shown once, store it now):\n{key}")
    return key


def stats_command(cfg: StatsConfig) -> list[dict]:
    from diffusion_dro.feedback.store import FeedbackStore

    store = FeedbackStore(cfg)
    try:
        names = [cfg.app] if cfg.app else store.app_names()
        stats = [store.stats(store.app(n)).model_dump() for n in names]
    finally:
        store.close()
    print(f"store: {cfg.url if cfg.database_url else cfg.data_root}")
    for s in stats:
        print(json.dumps(s))
    if not stats:
        print("no apps yet; create one with `dro feedback create-app NAME`.")
    return stats


def serve_command(cfg: ServeConfig) -> None:
    """Serve the ingest API alone (no web page) with uvicorn."""
    import uvicorn

    from diffusion_dro.feedback.api import create_app

    settings = FeedbackSettings(**{k: getattr(cfg, k) for k in FeedbackSettings.__dataclass_fields__})
    uvicorn.run(create_app(settings), host=cfg.host, port=cfg.port, log_level="warning")
