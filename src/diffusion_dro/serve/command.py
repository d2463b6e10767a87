"""``dro serve``: the web app under uvicorn; ``--api-only`` is exactly ``dro feedback serve``."""

from __future__ import annotations

from diffusion_dro.serve.config import ServeAppConfig

__all__ = ["serve_command"]


def serve_command(cfg: ServeAppConfig) -> None:
    if cfg.api_only:
        from diffusion_dro.feedback.commands import serve_command as serve_feedback_api

        print(f"dro serve --api-only: feedback ingest API at {cfg.address} (docs at {cfg.address}docs); Ctrl-C stops.",
              flush=True)
        serve_feedback_api(cfg)
        return

    import uvicorn
    from sqlalchemy.engine import make_url

    from diffusion_dro.serve.app import create_app

    store = make_url(cfg.database_url).render_as_string(hide_password=True) if cfg.database_url else cfg.data_root
    adapter = f" + adapter {cfg.adapter}" if cfg.adapter else ""
    print(f"dro serve: opening the store at {store} and loading {cfg.model}{adapter} ...", flush=True)
    ready = f"dro serve: open {cfg.address} (API docs at {cfg.address}docs); Ctrl-C stops."
    app = create_app(cfg, ready=lambda: print(ready, flush=True))
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")
