"""What a page session may touch: its own user id, its own event ids, its own generations.

The page posts the public event schema; these checks stand where an API key would,
so one visitor cannot record events as another, claim another's event ids, or
give feedback on (or fetch) images generated for someone else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from diffusion_dro.feedback.errors import NotFound
from diffusion_dro.feedback.models import Generation, User
from diffusion_dro.feedback.schemas import EventIn
from diffusion_dro.feedback.store import AppRef, FeedbackStore
from diffusion_dro.serve.errors import Forbidden
from diffusion_dro.serve.sessions import PageSessions

__all__ = ["owners", "check_page_events", "check_owned"]


def owners(store: FeedbackStore, app: AppRef, generation_ids: Iterable[str]) -> dict[str, str | None]:
    """The owning user of each of ``generation_ids`` registered in ``app`` (unregistered ids are absent)."""
    wanted = set(generation_ids)
    if not wanted:
        return {}
    stmt = (select(Generation.external_id, User.external_id)
            .outerjoin(User, User.id == Generation.user_id)
            .where(Generation.app_id == app.id, Generation.external_id.in_(wanted)))
    with store.sessions() as s:
        return dict(s.execute(stmt).all())


def _referenced(e: EventIn) -> list[str]:
    return list(getattr(e, "generation_ids", None) or [g for g in [getattr(e, "generation_id", None)] if g])


def check_page_events(store: FeedbackStore, app: AppRef, user: str, events: Sequence[EventIn]) -> None:
    """403 unless every event is ``user``'s, with ids in the session's namespace, about ``user``'s generations.

    Unregistered generation ids pass here and are refused by ingest (422 ``unknown_generation``).
    """
    prefix = PageSessions.event_prefix(user)
    for i, e in enumerate(events):
        if e.user_id != user:
            raise Forbidden("wrong_user", f"events[{i}] has user_id {e.user_id!r}; this page session is {user!r}. "
                            "Send the user_id POST /page/session returned.")
        for name in ("client_event_id", "impression_id"):
            value = getattr(e, name, None)
            if value is not None and not value.startswith(prefix):
                raise Forbidden("foreign_event_id", f"events[{i}].{name} {value!r} must start with {prefix!r} "
                                "(the event_prefix of this session).")
    own = owners(store, app, (g for e in events for g in _referenced(e)))
    for i, e in enumerate(events):
        foreign = [g for g in _referenced(e) if g in own and own[g] != user]
        if foreign:
            raise Forbidden("foreign_generation", f"events[{i}] refers to generation(s) {foreign} that this page "
                            "session did not generate; give feedback only on images shown to you.")


def check_owned(store: FeedbackStore, app: AppRef, user: str, generation_id: str) -> None:
    """404 (as if absent) when ``generation_id`` is not one of ``user``'s generations."""
    if owners(store, app, [generation_id]).get(generation_id, None) != user:
        raise NotFound("unknown_generation", f"generation {generation_id!r} is not one of this page session's images.")
