"""The toy world's vocabulary, attributes, prompts and held-out split.

A toy image shows one shape described by the prompt ``"a {size} {colour} {shape}"``
plus four *nuisance* attributes the prompt does not name. Those nuisances are what
a simulated user's taste (``toy.taste``) cares about, so preference training has
something to learn that the prompt does not already fix.

Held-out split: the colour x shape pairs ``(COLOURS[i], SHAPES[i % len(SHAPES)])``
for every colour i (8 of the 40 pairs, one per colour, every shape at least once)
never appear in pre-training or expert sets. Prompts built on them (``toy:heldout``)
test whether a model composes colour and shape it has only seen apart.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from diffusion_dro.errors import InputError

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "diamond", "cross")
COLOURS: tuple[str, ...] = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink")
SIZES: tuple[str, ...] = ("small", "large")

# Nuisance attributes: not named by prompts, judged from pixels, liked or disliked by tastes.
BACKGROUNDS: tuple[str, ...] = ("plain", "noisy", "gradient")
LEVELS: tuple[str, ...] = ("dark", "mid", "light")
FILLS: tuple[str, ...] = ("filled", "outline")
OFFSETS: tuple[str, ...] = ("centred", "off")

# Every attribute the judge predicts, in a fixed order, with its values.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "shape": SHAPES,
    "colour": COLOURS,
    "size": SIZES,
    "background": BACKGROUNDS,
    "level": LEVELS,
    "fill": FILLS,
    "offset": OFFSETS,
}
NUISANCES: tuple[str, ...] = ("background", "level", "fill", "offset")

HELDOUT_PAIRS: frozenset[tuple[str, str]] = frozenset(
    (c, SHAPES[i % len(SHAPES)]) for i, c in enumerate(COLOURS)
)
TRAIN_PAIRS: tuple[tuple[str, str], ...] = tuple(
    p for p in itertools.product(COLOURS, SHAPES) if p not in HELDOUT_PAIRS
)
VOCABULARY: tuple[str, ...] = ("a", *SIZES, *COLOURS, *SHAPES)


@dataclass(frozen=True)
class Spec:
    """Everything that determines one render. ``seed`` drives background noise and offset direction."""

    shape: str
    colour: str
    size: str
    background: str
    level: str
    fill: str
    offset: str
    seed: int = 0

    @property
    def prompt(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"

    def labels(self) -> dict[str, int]:
        """Class index of every attribute, as the judge predicts them."""
        return {name: values.index(getattr(self, name)) for name, values in ATTRIBUTES.items()}

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Prompt:
    size: str
    colour: str
    shape: str

    @property
    def text(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


def parse_prompt(text: str) -> Prompt:
    """Parse ``"a {size} {colour} {shape}"``; raise InputError naming unknown words."""
    words = text.strip().lower().split()
    unknown = [w for w in words if w not in VOCABULARY]
    if unknown:
        raise InputError(
            f"toy prompt {text!r} has words the toy world does not know: {unknown}. "
            f"Toy prompts read 'a {{size}} {{colour}} {{shape}}' with size in {list(SIZES)}, "
            f"colour in {list(COLOURS)}, shape in {list(SHAPES)}."
        )
    if len(words) != 4 or words[0] != "a" or words[1] not in SIZES or words[2] not in COLOURS or words[3] not in SHAPES:
        raise InputError(
            f"toy prompt {text!r} is not of the form 'a {{size}} {{colour}} {{shape}}', "
            "for example 'a small red circle'."
        )
    return Prompt(size=words[1], colour=words[2], shape=words[3])


def prompts_for(split: str) -> list[str]:
    """All prompts of a split: ``train`` (32 pairs x 2 sizes) or ``heldout`` (8 pairs x 2 sizes)."""
    if split == "train":
        pairs = list(TRAIN_PAIRS)
    elif split == "heldout":
        pairs = sorted(HELDOUT_PAIRS, key=lambda p: COLOURS.index(p[0]))
    else:
        raise InputError(f"toy split {split!r} is unknown; use 'train' or 'heldout'.")
    return [f"a {s} {c} {sh}" for c, sh in pairs for s in SIZES]


def sample_specs(
    rng: np.random.Generator,
    n: int,
    split: str = "train",
    nuisance_probs: dict[str, np.ndarray] | None = None,
) -> list[Spec]:
    """Draw ``n`` specs: named attributes uniform over the split, nuisances uniform unless given."""
    splits = {"train": list(TRAIN_PAIRS), "heldout": sorted(HELDOUT_PAIRS), "all": list(itertools.product(COLOURS, SHAPES))}
    if split not in splits:
        raise InputError(f"toy split {split!r} is unknown; use one of {sorted(splits)}.")
    pairs = splits[split]
    probs = nuisance_probs or {}
    out = []
    pair_idx = rng.integers(len(pairs), size=n)
    size_idx = rng.integers(len(SIZES), size=n)
    nuis = {k: rng.choice(len(ATTRIBUTES[k]), size=n, p=probs.get(k)) for k in NUISANCES}
    seeds = rng.integers(2**31 - 1, size=n)
    for i in range(n):
        colour, shape = pairs[pair_idx[i]]
        out.append(
            Spec(
                shape=shape,
                colour=colour,
                size=SIZES[size_idx[i]],
                seed=int(seeds[i]),
                **{k: ATTRIBUTES[k][nuis[k][i]] for k in NUISANCES},
            )
        )
    return out
