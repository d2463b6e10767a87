"""``--api-only``: the ingest API alone, exactly as ``dro feedback serve`` (no model, no page, no generation)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from diffusion_dro.serve import ServeAppConfig, create_app


def test_api_only_serves_the_ingest_api_without_page_or_model(tmp_path):
    with TestClient(create_app(ServeAppConfig(data_root=str(tmp_path / "store"), api_only=True))) as client:
        assert not hasattr(client.app.state, "model")
        assert client.get("/").status_code == 404
        assert client.get("/static/page.js").status_code == 404
        assert client.post("/v1/generate", json={"prompt": "a small red circle"}).status_code == 404
        assert client.get("/health").json() == {"status": "ok"}
        key = client.app.state.feedback_store.create_app("site")
        assert client.get("/v1/stats", headers={"X-API-Key": key}).json()["app"] == "site"
        assert client.app.title == "diffusion-dro feedback"


def test_building_the_app_opens_and_loads_nothing(tmp_path):
    create_app(ServeAppConfig(data_root=str(tmp_path / "store"), model=str(tmp_path / "no-such-model")))
    assert not (tmp_path / "store").exists()  # store, secret and model come in the lifespan
