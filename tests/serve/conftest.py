"""Fixtures: one served app (real toy model, 4 steps) per test module, and page clients with their own sessions."""

from __future__ import annotations

import pytest

NEEDS = "the serve tests need the 'service' extra: pip install 'diffusion-dro[service]'"
pytest.importorskip("fastapi", reason=NEEDS)
pytest.importorskip("sqlalchemy", reason=NEEDS)

from fastapi.testclient import TestClient  # noqa: E402

from diffusion_dro.serve import ServeAppConfig, create_app  # noqa: E402


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> ServeAppConfig:
    return ServeAppConfig(data_root=str(tmp_path_factory.mktemp("serve") / "store"), steps=4, max_batch=50)


@pytest.fixture(scope="module")
def client(config):
    """The page's client: the real app with its lifespan run (store opened, toy model loaded) and a session cookie."""
    with TestClient(create_app(config)) as c:
        c.post("/page/session").raise_for_status()
        yield c


@pytest.fixture
def visitor(client):
    """``visitor()``: another browser on the same running app, with its own session."""

    def make() -> TestClient:
        other = TestClient(client.app)  # no lifespan of its own: shares the running app's state
        other.post("/page/session").raise_for_status()
        return other

    return make


@pytest.fixture(scope="module")
def store(client):
    return client.app.state.feedback_store


@pytest.fixture(scope="module")
def page_app(client):
    return client.app.state.page_app
