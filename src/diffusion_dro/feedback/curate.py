"""From events to a per-image implicit preference score (pure functions, no database).

Step 1, evidence (``evidence``): every event becomes signed signals on images,
``Signal(user, generation, value)``, with configurable weights ``w_*``:

=============  ===========================================================================
event          signal
=============  ===========================================================================
impression     0 on each shown image (counts as evidence that it was seen)
pick           ``+w_pick`` on the picked image and ``-w_pick / (n - 1)`` on each of the other
               ``n - 1`` images of the impression it answers (pick *over the shown set*);
               ``+w_pick`` alone when the impression is unknown or showed one image
download       ``+w_download``
share          ``+w_share``
dwell          ``+w_dwell * min(dwell_s / dwell_cap_s, 1)``
rating         ``+w_rating * (rating - 3) / 2`` (1..5 stars -> -1..1)
regenerate     ``-w_regenerate`` on every image of the rejected impression
edit           ``+w_edit`` (default 0: an edit says "close, but flawed")
=============  ===========================================================================

Step 2, per-user normalisation (``scores``): a user's raw score of an image is the
sum of their signals on it; each user's raw scores are standardised over the images
they gave evidence on, ``z = (r - mean_u) / std_u`` (``z = 0`` when all are equal),
so a prolific or enthusiastic user weighs as much as a sparing one. An image's
score is the mean ``z`` over the users who gave evidence on it.

Step 3, per-prompt normalisation: the mean score of the images of a prompt, shrunk
towards 0 by ``n / (n + prompt_shrinkage)`` for a prompt with ``n`` images, is
subtracted, so images of easy prompts (liked whatever was drawn) do not crowd out
the rest, while a prompt seen once keeps part of its signal.

Images with fewer than ``min_evidence`` events touching them are dropped before step 3.

``kept`` names the images some user downloaded or shared: the strongest implicit "keep",
which ``dro curate --kept_only`` requires of every expert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from diffusion_dro.errors import InputError

__all__ = ["CurationWeights", "EventRecord", "Signal", "ImageScore", "evidence", "kept", "scores"]

KEEP_EVENTS = ("download", "share")


@dataclass(kw_only=True)
class CurationWeights:
    w_pick: float = field(default=1.0, metadata={"help": "Weight of a pick over the other images shown with it."})
    w_download: float = field(default=1.0, metadata={"help": "Weight of a download."})
    w_share: float = field(default=1.5, metadata={"help": "Weight of a share."})
    w_dwell: float = field(default=0.5, metadata={"help": "Weight of a dwell of dwell_cap_s seconds or longer."})
    dwell_cap_s: float = field(default=10.0, metadata={"help": "Dwell (seconds) at which its signal saturates."})
    w_rating: float = field(default=1.0, metadata={"help": "Weight of a 5-star rating (1 star: minus it, 3: zero)."})
    w_regenerate: float = field(default=0.5, metadata={"help": "Penalty on every image of a set the user regenerated."})
    w_edit: float = field(default=0.0, metadata={"help": "Weight of an edit/inpaint request on an image."})
    prompt_shrinkage: float = field(
        default=1.0, metadata={"help": "k in the per-prompt centring n/(n+k) x prompt mean; 0 centres fully."}
    )

    def __post_init__(self) -> None:
        for name in ("w_pick", "w_download", "w_share", "w_dwell", "w_rating", "w_regenerate", "prompt_shrinkage"):
            if getattr(self, name) < 0:
                raise InputError(f"--{name} must be >= 0 (signs are fixed by the event type), got {getattr(self, name)}.")
        if self.dwell_cap_s <= 0:
            raise InputError(f"--dwell_cap_s must be > 0 seconds, got {self.dwell_cap_s}.")


@dataclass(frozen=True)
class EventRecord:
    """One stored event as curation sees it (ids are the client's)."""

    client_event_id: str
    type: str
    user: str
    generation: str | None = None
    impression_id: str | None = None
    value: float | None = None  # dwell_ms or rating


@dataclass(frozen=True)
class Signal:
    user: str
    generation: str
    value: float


@dataclass(frozen=True)
class ImageScore:
    generation: str
    score: float
    evidence: int
    users: int


def kept(events: Iterable[EventRecord]) -> set[str]:
    """Generations some user downloaded or shared."""
    return {e.generation for e in events if e.type in KEEP_EVENTS and e.generation is not None}


def evidence(events: Iterable[EventRecord], shown: dict[str, list[str]], w: CurationWeights) -> list[Signal]:
    """Signals of step 1; ``shown`` maps an impression's client id to the generations it showed."""
    out: list[Signal] = []
    for e in events:
        group = shown.get(e.impression_id or "", [])
        if e.type == "impression":
            out += [Signal(e.user, g, 0.0) for g in shown.get(e.client_event_id, [])]
        elif e.type == "pick" and e.generation:
            out.append(Signal(e.user, e.generation, w.w_pick))
            others = [g for g in group if g != e.generation]
            if others and e.generation in group:
                out += [Signal(e.user, g, -w.w_pick / len(others)) for g in others]
        elif e.type == "regenerate":
            out += [Signal(e.user, g, -w.w_regenerate) for g in group]
        elif e.generation is None:
            continue
        elif e.type in ("download", "share", "edit"):
            out.append(Signal(e.user, e.generation, getattr(w, f"w_{e.type}")))
        elif e.type == "dwell":
            out.append(Signal(e.user, e.generation, w.w_dwell * min((e.value or 0) / 1000 / w.dwell_cap_s, 1.0)))
        elif e.type == "rating":
            out.append(Signal(e.user, e.generation, w.w_rating * ((e.value or 3.0) - 3.0) / 2.0))
    return out


def scores(
    signals: Sequence[Signal], prompt_of: dict[str, str], w: CurationWeights, min_evidence: int = 1
) -> dict[str, ImageScore]:
    """Steps 2 and 3: per-user standardised, per-prompt centred score of every image with enough evidence."""
    raw: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    count: dict[str, int] = defaultdict(int)
    for s in signals:
        raw[s.user][s.generation] += s.value
        count[s.generation] += 1
    per_image: dict[str, list[float]] = defaultdict(list)
    for user_scores in raw.values():
        gens = list(user_scores)
        r = np.array([user_scores[g] for g in gens])
        std = r.std()
        z = (r - r.mean()) / std if std > 1e-12 else np.zeros_like(r)
        for g, v in zip(gens, z):
            per_image[g].append(float(v))
    kept = {g: float(np.mean(v)) for g, v in per_image.items() if count[g] >= min_evidence and g in prompt_of}
    by_prompt: dict[str, list[float]] = defaultdict(list)
    for g, s in kept.items():
        by_prompt[prompt_of[g]].append(s)
    shift = {p: len(v) / (len(v) + w.prompt_shrinkage) * float(np.mean(v)) for p, v in by_prompt.items()}
    return {
        g: ImageScore(generation=g, score=s - shift[prompt_of[g]], evidence=count[g], users=len(per_image[g]))
        for g, s in kept.items()
    }
