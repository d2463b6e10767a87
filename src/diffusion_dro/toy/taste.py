"""Simulated user taste: a weighted function of a toy image's attributes.

A taste gives each value of each nuisance attribute a weight, plus a weight on
prompt adherence. Score of an image = sum over nuisances of the weight of its value
+ ``adherence`` x [shape and colour match the prompt]. From the judge's
probabilities the same sum is taken in expectation, which is continuous (few ties).

Default taste (``Taste()``): likes gradient backgrounds (+1) and dislikes noisy ones
(-1), likes light (+0.5) over dark (-0.5) backgrounds, filled (+0.5) over outline
(-0.5) shapes, centred (+0.5) over off-centre (-0.5) shapes; adherence weighs 1.

On the command line (``--taste``) a taste is JSON, inline or in a file, e.g.
``{"fill": {"outline": 1, "filled": -1}, "background": {"gradient": 1}}``. A given
taste is complete: attributes and values it does not mention weigh 0, except
``adherence``, which is 1 unless given.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from diffusion_dro.errors import InputError
from diffusion_dro.toy.world import ATTRIBUTES, NUISANCES, Spec, parse_prompt


def _default(attr: str, weights: dict[str, float]) -> dict[str, float]:
    return field(default_factory=lambda: {v: float(weights.get(v, 0.0)) for v in ATTRIBUTES[attr]})


@dataclass
class Taste:
    background: dict[str, float] = _default("background", {"noisy": -1.0, "gradient": 1.0})
    level: dict[str, float] = _default("level", {"dark": -0.5, "light": 0.5})
    fill: dict[str, float] = _default("fill", {"filled": 0.5, "outline": -0.5})
    offset: dict[str, float] = _default("offset", {"centred": 0.5, "off": -0.5})
    adherence: float = 1.0

    def weight_vector(self, attr: str) -> torch.Tensor:
        """Weights of ``attr``'s values in the judge's class order, shape (K,)."""
        weights = getattr(self, attr)
        return torch.tensor([weights.get(v, 0.0) for v in ATTRIBUTES[attr]], dtype=torch.float32)

    def score_spec(self, spec: Spec) -> float:
        """The true taste of a render, from its spec (a render always adheres to its prompt)."""
        return sum(getattr(self, a).get(getattr(spec, a), 0.0) for a in NUISANCES) + self.adherence

    def score_probs(self, probs: dict[str, torch.Tensor], prompts: list[str]) -> torch.Tensor:
        """Expected taste under the judge's per-attribute probabilities (each (B, K)); shape (B,)."""
        total = sum(probs[a] @ self.weight_vector(a).to(probs[a]) for a in NUISANCES)
        return total + self.adherence * adherence_prob(probs, prompts)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def max_score(self) -> float:
        return sum(max(getattr(self, a).values(), default=0.0) for a in NUISANCES) + max(self.adherence, 0.0)


def adherence_prob(probs: dict[str, torch.Tensor], prompts: list[str]) -> torch.Tensor:
    """P(shape matches) x P(colour matches) per image, shape (B,)."""
    parsed = [parse_prompt(p) for p in prompts]
    shape_idx = torch.tensor([ATTRIBUTES["shape"].index(p.shape) for p in parsed])
    colour_idx = torch.tensor([ATTRIBUTES["colour"].index(p.colour) for p in parsed])
    rows = torch.arange(len(prompts))
    return probs["shape"][rows, shape_idx] * probs["colour"][rows, colour_idx]


def parse_taste(text: str | None) -> Taste:
    """A taste from JSON text or a JSON file path; ``None`` or ``""`` gives the default."""
    if not text:
        return Taste()
    source = "--taste"
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        if not path.is_file():
            raise InputError(
                f"--taste {text!r} is neither JSON (it must start with '{{') nor an existing file. "
                'Example: --taste \'{"fill": {"outline": 1}}\''
            )
        source, text = f"--taste file {path}", path.read_text()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{source} is not valid JSON ({e.msg} at line {e.lineno} column {e.colno}).") from e
    if not isinstance(data, dict):
        raise InputError(f"{source} must be a JSON object of attribute -> {{value: weight}}, got {type(data).__name__}.")
    kwargs: dict = {a: {v: 0.0 for v in ATTRIBUTES[a]} for a in NUISANCES}
    for key, value in data.items():
        if key == "adherence":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InputError(f"{source}: 'adherence' must be a number, got {value!r}.")
            kwargs["adherence"] = float(value)
            continue
        if key not in NUISANCES:
            raise InputError(f"{source}: unknown attribute {key!r}; tastes weigh {list(NUISANCES)} and 'adherence'.")
        if not isinstance(value, dict):
            raise InputError(f"{source}: {key!r} must map values to weights, e.g. {{\"{ATTRIBUTES[key][0]}\": 1}}.")
        for v, w in value.items():
            if v not in ATTRIBUTES[key]:
                raise InputError(f"{source}: {key!r} has no value {v!r}; its values are {list(ATTRIBUTES[key])}.")
            if not isinstance(w, (int, float)) or isinstance(w, bool):
                raise InputError(f"{source}: weight of {key}.{v} must be a number, got {w!r}.")
            kwargs[key][v] = float(w)
    return Taste(**kwargs)
