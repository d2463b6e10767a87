"""Simulated users who look at generated images and react through the real HTTP API.

Each round, a user is shown a set of images for one prompt (an impression). The
user's *true taste* scores them; with Gumbel noise of scale ``temperature`` they
pick the best, dwell on it, download it if it scores above ``download_above``,
and regenerate instead when nothing scores above ``regenerate_below``.

Images come from ``make_set(rng, k)``; the default draws toy renders of one prompt
(``toy_set``). The taste is any callable ``candidates -> scores``: ``taste_of(Taste)``
reads the toy spec, while a judge model scoring ``candidate.image`` plugs in the same
way for real generations. The client is anything with httpx's ``post``/``put``
(``fastapi.testclient.TestClient`` or ``httpx.Client`` on loopback) that sends the
app's ``X-API-Key``.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from diffusion_dro.toy.render import render
from diffusion_dro.toy.taste import Taste
from diffusion_dro.toy.world import Spec, sample_specs

__all__ = ["Candidate", "TrueTaste", "SimulatedUser", "Simulator", "taste_of", "toy_set", "png_bytes"]


@dataclass(frozen=True)
class Candidate:
    """One image as shown: ``image`` is float32 HxWx3 in [0, 1]; ``spec`` only for toy renders."""

    prompt: str
    image: np.ndarray
    spec: Spec | None = None


TrueTaste = Callable[[Sequence[Candidate]], np.ndarray]


def taste_of(taste: Taste) -> TrueTaste:
    """The true taste of toy renders under a ``toy.taste.Taste``, from their specs."""
    return lambda cands: np.array([taste.score_spec(c.spec) for c in cands], dtype=np.float64)


def toy_set(rng: np.random.Generator, k: int, split: str = "train") -> list[Candidate]:
    """``k`` toy renders of one prompt, differing in the nuisances a taste cares about."""
    first, *rest = sample_specs(rng, k, split)
    specs = [first] + [dataclasses.replace(s, shape=first.shape, colour=first.colour, size=first.size) for s in rest]
    return [Candidate(s.prompt, render(s), s) for s in specs]


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray((np.clip(image, 0, 1) * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class SimulatedUser:
    user_id: str
    taste: TrueTaste
    temperature: float = 0.3
    regenerate_below: float = 0.5
    download_above: float = 2.5


@dataclass
class Simulator:
    """Drives simulated users through the API; remembers each generation's candidate for evaluation."""

    client: object
    rng: np.random.Generator
    set_size: int = 4
    make_set: Callable[[np.random.Generator, int], list[Candidate]] = toy_set
    model: str = "toy"
    adapter: str | None = None
    shown: dict[str, Candidate] = field(default_factory=dict)
    _n: int = 0

    def _check(self, response) -> dict:
        if response.status_code >= 300:
            raise RuntimeError(f"API answered {response.status_code}: {response.text}")
        return response.json()

    def show(self, users: Sequence[SimulatedUser]) -> list[str]:
        """Generate one set, register and upload it, show it to each of ``users``; return what each did."""
        self._n += 1
        cands = self.make_set(self.rng, self.set_size)
        ids = [f"s{self._n}-{i}" for i in range(len(cands))]
        owner = users[0].user_id if len(users) == 1 else None
        gens = [{"generation_id": g, "user_id": owner, "prompt": c.prompt, "model": self.model,
                 "adapter": self.adapter, "seed": c.spec.seed if c.spec else None,
                 "width": c.image.shape[1], "height": c.image.shape[0]}
                for g, c in zip(ids, cands)]
        self._check(self.client.post("/v1/generations", json={"generations": gens}))
        for g, c in zip(ids, cands):
            self._check(self.client.put(f"/v1/generations/{g}/image", content=png_bytes(c.image),
                                        headers={"Content-Type": "image/png"}))
            self.shown[g] = c
        events, actions = [], []
        for user in users:
            a, evs = self._react(user, cands, ids)
            actions.append(a)
            events += evs
        self._check(self.client.post("/v1/events", json={"events": events}))
        return actions

    def _react(self, user: SimulatedUser, cands: list[Candidate], ids: list[str]) -> tuple[str, list[dict]]:
        imp = f"{user.user_id}-imp{self._n}"
        events = [{"type": "impression", "client_event_id": imp, "user_id": user.user_id, "generation_ids": ids}]
        true = np.asarray(user.taste(cands), dtype=np.float64)
        if true.max() < user.regenerate_below:
            events.append({"type": "regenerate", "client_event_id": f"{imp}-regen", "user_id": user.user_id,
                           "impression_id": imp})
            return "regenerate", events
        noisy = true + user.temperature * self.rng.gumbel(size=len(true))
        best = int(noisy.argmax())
        base = {"user_id": user.user_id, "generation_id": ids[best], "impression_id": imp}
        events.append({"type": "pick", "client_event_id": f"{imp}-pick", **base})
        events.append({"type": "dwell", "client_event_id": f"{imp}-dwell", "dwell_ms": int(1000 * max(0.5, 2 + 2 * true[best])),
                       **base})
        if true[best] > user.download_above:
            events.append({"type": "download", "client_event_id": f"{imp}-dl", **base})
            return "download", events
        return "pick", events

    def run(self, users: Sequence[SimulatedUser], rounds: int, shared: bool = False) -> dict[str, int]:
        """``rounds`` sets per user (each their own), or, if ``shared``, each set shown to every user."""
        counts: dict[str, int] = {}
        for _ in range(rounds):
            for group in ([list(users)] if shared else [[u] for u in users]):
                for a in self.show(group):
                    counts[a] = counts.get(a, 0) + 1
        return counts
