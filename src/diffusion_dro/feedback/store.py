"""The feedback store: apps and keys, users, generations and their images, stats.

One ``FeedbackStore`` per process wraps an engine (migrated on open), a session
factory and the content-addressed ``ImageStore``. Every write is one transaction
that has committed before the method returns, so whatever the API acknowledges
is durable. Events are written by ``events.ingest_events``.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from diffusion_dro.feedback.db import open_engine
from diffusion_dro.feedback.errors import Conflict, NotFound, Unauthorized
from diffusion_dro.feedback.images import ImageStore
from diffusion_dro.feedback.keys import hash_key, key_prefix, new_key
from diffusion_dro.feedback.models import ApiKey, App, Event, Generation, User, as_utc, utcnow
from diffusion_dro.feedback.schemas import Ack, GenerationIn, GenerationOut, ImageAck, Stats
from diffusion_dro.feedback.settings import StoreOptions

__all__ = ["FeedbackStore", "AppRef", "insert_ignore", "user_ids"]

APP_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class AppRef:
    id: int
    name: str


def insert_ignore(session: Session, table: Table, rows: list[dict], keys: Sequence[str]) -> list:
    """INSERT ... ON CONFLICT (keys) DO NOTHING RETURNING id, keys; returns the rows actually inserted."""
    if not rows:
        return []
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=list(keys))
    stmt = stmt.returning(table.c.id, *(table.c[k] for k in keys))
    return list(session.execute(stmt, rows))


def user_ids(session: Session, app_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    """Internal ids of the app's pseudonymous users, creating the missing ones."""
    wanted = set(external_ids)
    if not wanted:
        return {}
    now = utcnow()
    insert_ignore(
        session, User.__table__, [{"app_id": app_id, "external_id": u, "created_at": now} for u in sorted(wanted)],
        ("app_id", "external_id"),
    )
    rows = session.execute(select(User.external_id, User.id).where(User.app_id == app_id, User.external_id.in_(wanted)))
    return dict(rows.all())


def generation_ids(session: Session, app_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = set(external_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(Generation.external_id, Generation.id).where(Generation.app_id == app_id, Generation.external_id.in_(wanted))
    )
    return dict(rows.all())


class FeedbackStore:
    def __init__(self, settings: StoreOptions) -> None:
        self.settings = settings
        self.engine = open_engine(settings.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.images = ImageStore(settings.root)

    def close(self) -> None:
        self.engine.dispose()

    # apps and keys
    def create_app(self, name: str) -> str:
        """Create app ``name`` and return its first API key (shown once; only its hash is kept)."""
        if not APP_NAME.match(name):
            raise Conflict(
                "invalid_app_name",
                f"app name {name!r} must be 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit.",
            )
        with self.sessions.begin() as s:
            if s.scalar(select(App.id).where(App.name == name)) is not None:
                raise Conflict("app_exists", f"app {name!r} already exists; pick another name or use `add_key`.")
            app = App(name=name, created_at=utcnow())
            s.add(app)
            s.flush()
            return self._add_key(s, app.id)

    def add_key(self, name: str) -> str:
        with self.sessions.begin() as s:
            return self._add_key(s, self.app(name, s).id)

    def _add_key(self, s: Session, app_id: int) -> str:
        key = new_key()
        s.add(ApiKey(app_id=app_id, prefix=key_prefix(key), key_hash=hash_key(key), created_at=utcnow()))
        return key

    def app(self, name: str, session: Session | None = None) -> AppRef:
        with self.sessions() if session is None else nullcontext(session) as s:
            row = s.execute(select(App.id, App.name).where(App.name == name)).first()
        if row is None:
            raise NotFound("unknown_app", f"no app named {name!r}; create it with `dro feedback create-app {name}`.")
        return AppRef(row.id, row.name)

    def app_names(self) -> list[str]:
        with self.sessions() as s:
            return list(s.scalars(select(App.name).order_by(App.name)))

    def authenticate(self, key: str | None) -> AppRef:
        if not key:
            raise Unauthorized("missing_api_key", "send your app's API key in the X-API-Key header.")
        with self.sessions() as s:
            row = s.execute(
                select(App.id, App.name)
                .join(ApiKey, ApiKey.app_id == App.id)
                .where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
            ).first()
        if row is None:
            raise Unauthorized("invalid_api_key", "the X-API-Key is not a valid key of any app; check it or create a new one.")
        return AppRef(row.id, row.name)

    # generations and images
    def add_generations(self, app: AppRef, items: Sequence[GenerationIn]) -> list[Ack]:
        """Register generations; an id seen before is acknowledged as ``duplicate`` (first write wins)."""
        now = utcnow()
        with self.sessions.begin() as s:
            users = user_ids(s, app.id, (g.user_id for g in items if g.user_id))
            rows = []
            for g in items:
                row = g.model_dump(exclude={"generation_id", "user_id", "created_at"})
                row.update(app_id=app.id, external_id=g.generation_id, user_id=users.get(g.user_id),
                           created_at=g.created_at or now)
                rows.append(row)
            inserted = {r.external_id for r in insert_ignore(s, Generation.__table__, rows, ("app_id", "external_id"))}
        acks, seen = [], set()
        for g in items:
            fresh = g.generation_id in inserted and g.generation_id not in seen
            seen.add(g.generation_id)
            acks.append(Ack(id=g.generation_id, status="accepted" if fresh else "duplicate"))
        return acks

    def _generation(self, s: Session, app: AppRef, external_id: str) -> Generation:
        gen = s.scalar(select(Generation).where(Generation.app_id == app.id, Generation.external_id == external_id))
        if gen is None:
            raise NotFound("unknown_generation", f"generation {external_id!r} does not exist in app {app.name!r}; "
                           "register it with POST /v1/generations first.")
        return gen

    def get_generation(self, app: AppRef, external_id: str) -> GenerationOut:
        with self.sessions() as s:
            gen = self._generation(s, app, external_id)
            user = s.scalar(select(User.external_id).where(User.id == gen.user_id)) if gen.user_id else None
            return GenerationOut(
                generation_id=gen.external_id, user_id=user,
                created_at=as_utc(gen.created_at),
                **{k: getattr(gen, k) for k in GenerationOut.model_fields if k not in ("generation_id", "user_id", "created_at")},
            )

    def set_image(self, app: AppRef, external_id: str, data: bytes) -> ImageAck:
        """Store the image bytes of a registered generation (content addressed) and link them."""
        with self.sessions.begin() as s:
            gen = self._generation(s, app, external_id)
            sha, suffix = self.images.put(data)
            if gen.image_sha256 not in (None, sha):
                raise Conflict("image_exists", f"generation {external_id!r} already has a different image "
                               f"({gen.image_sha256}); register a new generation id for a new image.")
            gen.image_sha256, gen.image_suffix = sha, suffix
        return ImageAck(generation_id=external_id, image_sha256=sha, bytes=len(data))

    def image_path(self, app: AppRef, external_id: str) -> Path:
        with self.sessions() as s:
            gen = self._generation(s, app, external_id)
        if gen.image_sha256 is None:
            raise NotFound("no_image", f"generation {external_id!r} has no uploaded image; "
                           f"PUT its bytes to /v1/generations/{external_id}/image.")
        return self.images.path(gen.image_sha256, gen.image_suffix)

    def stats(self, app: AppRef) -> Stats:
        with self.sessions() as s:
            count = lambda q: s.scalar(q) or 0  # noqa: E731
            events = dict(s.execute(select(Event.type, func.count()).where(Event.app_id == app.id).group_by(Event.type)).all())
            return Stats(
                app=app.name,
                users=count(select(func.count()).select_from(User).where(User.app_id == app.id)),
                generations=count(select(func.count()).select_from(Generation).where(Generation.app_id == app.id)),
                generations_with_image=count(
                    select(func.count()).select_from(Generation)
                    .where(Generation.app_id == app.id, Generation.image_sha256.is_not(None))
                ),
                events=events,
            )

