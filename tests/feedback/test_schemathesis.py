"""Property-based calls generated from the OpenAPI schema (schemathesis): no input gives a 5xx."""

from __future__ import annotations

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="needs schemathesis (the 'test' extra)")
from hypothesis import HealthCheck, settings  # noqa: E402

from diffusion_dro.feedback.api import create_app  # noqa: E402
from diffusion_dro.feedback.settings import FeedbackSettings  # noqa: E402
from diffusion_dro.feedback.store import FeedbackStore  # noqa: E402

# Built at collection (schemathesis parametrizes from the schema); nothing is opened until the lifespan runs.
SETTINGS = FeedbackSettings(data_root=tempfile.mkdtemp(prefix="dro-schemathesis-"), max_batch=20)
APP = create_app(SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def key() -> str:
    store = FeedbackStore(SETTINGS)
    try:
        key = store.create_app("fuzz")
        from diffusion_dro.feedback.schemas import GenerationIn

        store.add_generations(store.authenticate(key), [GenerationIn(generation_id="0", prompt="p", model="toy")])
    finally:
        store.close()
    return key


@schema.parametrize()
@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_no_server_errors(case, key):
    response = case.call(headers={"X-API-Key": key})
    assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
