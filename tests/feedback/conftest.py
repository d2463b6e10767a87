"""Fixtures: stores and API clients on SQLite and on a throwaway PostgreSQL server."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("sqlalchemy", reason="the feedback tests need the 'service' extra: pip install 'diffusion-dro[service]'")
pytest.importorskip("fastapi", reason="the feedback tests need the 'service' extra: pip install 'diffusion-dro[service]'")

from fastapi.testclient import TestClient  # noqa: E402

from diffusion_dro.feedback.api import create_app  # noqa: E402
from diffusion_dro.feedback.settings import FeedbackSettings  # noqa: E402
from diffusion_dro.feedback.store import FeedbackStore  # noqa: E402
from diffusion_dro.feedback.throwaway_pg import ThrowawayPostgres, find_bin  # noqa: E402

BACKENDS = ["sqlite", "postgresql"]
_db_names = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the whole session, or a skip saying how to get one."""
    bin_dir = find_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
                    "install them with .ci/postgres.sh (apt-get install postgresql) to run the PostgreSQL tests")
    pg = ThrowawayPostgres(bin_dir, fsync=False)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path) -> FeedbackSettings:
    """Settings on a fresh database: SQLite under tmp_path, or a new database on the PostgreSQL server."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres").create_database(f"t{next(_db_names)}")
    return FeedbackSettings(data_root=str(tmp_path / "store"), database_url=url, max_batch=50, max_body_bytes=256 * 1024)


@pytest.fixture
def sqlite_settings(tmp_path) -> FeedbackSettings:
    return FeedbackSettings(data_root=str(tmp_path / "store"), max_batch=50, max_body_bytes=256 * 1024)


@pytest.fixture
def store(settings):
    s = FeedbackStore(settings)
    yield s
    s.close()


def _client(settings: FeedbackSettings):
    app = create_app(settings)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(settings):
    """A TestClient of the real app (lifespan run), on each backend."""
    yield from _client(settings)


@pytest.fixture
def sqlite_client(sqlite_settings):
    yield from _client(sqlite_settings)


@pytest.fixture
def new_app():
    """``new_app(client, name)``: create an app in the client's store; return headers that authenticate as it."""

    def make(client: TestClient, name: str) -> dict[str, str]:
        return {"X-API-Key": client.app.state.feedback_store.create_app(name)}

    return make
