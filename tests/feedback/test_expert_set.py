"""The expert-set writer and ``--from_folder`` personalisation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from diffusion_dro.data.expert_set import ExpertItem, write_expert_set
from diffusion_dro.errors import InputError
from diffusion_dro.feedback.folder import expert_set_from_folder
from diffusion_dro.feedback.simulate import png_bytes


def image(path: Path, value: float = 0.5) -> Path:
    path.write_bytes(png_bytes(np.full((4, 4, 3), value, np.float32)))
    return path


def test_write_is_atomic_and_complete(tmp_path):
    a, b = image(tmp_path / "a.png", 0.1), image(tmp_path / "b.png", 0.9)
    out = write_expert_set(tmp_path / "set", [ExpertItem(a, "a red circle", 1.5, "x"), ExpertItem(b, "a blue square")])
    rows = [json.loads(x) for x in (out / "metadata.jsonl").read_text().splitlines()]
    assert rows == [{"file_name": "a.png", "prompt": "a red circle", "score": 1.5, "source": "x"},
                    {"file_name": "b.png", "prompt": "a blue square", "score": None, "source": None}]
    with pytest.raises(InputError, match="already exists"):
        write_expert_set(out, [ExpertItem(a, "p")])
    with pytest.raises(InputError, match="is not a file"):  # a failed write leaves the old set and no temp folder
        write_expert_set(out, [ExpertItem(a, "p"), ExpertItem(tmp_path / "missing.png", "p")], overwrite=True)
    assert len((out / "metadata.jsonl").read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    write_expert_set(out, [ExpertItem(a, "p", file_name="only.png")], overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["metadata.jsonl", "only.png"]
    for bad, match in [([], "no items"), ([ExpertItem(a, " ")], "prompt"), ([ExpertItem(a, "p", file_name="../x.png")], "plain"),
                       ([ExpertItem(a, "p"), ExpertItem(a, "q")], "twice"), ([ExpertItem(a, "p", file_name="a.gif")], "end in")]:
        with pytest.raises(InputError, match=match):
            write_expert_set(tmp_path / "bad", bad)


def test_from_folder_reads_txt_and_metadata_captions(tmp_path):
    src = tmp_path / "favourites"
    src.mkdir()
    for i in range(3):
        image(src / f"img{i}.png", i / 3)
    (src / "img0.txt").write_text("a cat on a sofa\n")
    (src / "metadata.jsonl").write_text(json.dumps({"file_name": "img1.png", "text": "a dog"}) + "\n"
                                        + json.dumps({"file_name": "img2.png", "caption": "a bird"}) + "\n")
    out = expert_set_from_folder(src, tmp_path / "expert")
    rows = {r["file_name"]: r for r in map(json.loads, (out / "metadata.jsonl").read_text().splitlines())}
    assert {k: v["prompt"] for k, v in rows.items()} == {"img0.png": "a cat on a sofa", "img1.png": "a dog", "img2.png": "a bird"}
    assert rows["img0.png"]["source"] == "folder:img0.png"
    image(src / "img3.png")
    with pytest.raises(InputError, match=r"no caption for \['img3.png'\]"):
        expert_set_from_folder(src, tmp_path / "expert2")
    with pytest.raises(InputError, match="not a folder"):
        expert_set_from_folder(tmp_path / "nope", tmp_path / "expert3")
