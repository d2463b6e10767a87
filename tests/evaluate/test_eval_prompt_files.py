"""Prompt sets from files: text, JSON lines, HPDv2 benchmark JSON (file and folder), Pick-a-Pic CSV and Parquet."""

from __future__ import annotations

import csv
import json

import pytest

from diffusion_dro.data.prompts import PromptSet, load_prompt_set, load_prompts
from diffusion_dro.errors import InputError


def test_txt_and_jsonl(tmp_path):
    (tmp_path / "p.txt").write_text("a cat\n\n  a dog  \n")
    assert load_prompts(str(tmp_path / "p.txt")) == ["a cat", "a dog"]
    (tmp_path / "p.jsonl").write_text('{"prompt": "a cat", "group": "pets"}\n{"caption": "a dog"}\n')
    s = load_prompt_set(str(tmp_path / "p.jsonl"))
    assert s.prompts == ["a cat", "a dog"] and s.groups == ["pets", None]


def test_hpdv2_style_file_folder_and_dict(tmp_path):
    bench = tmp_path / "benchmark"
    bench.mkdir()
    # hpsv2.benchmark_prompts(style) files: a JSON list of strings per style.
    (bench / "photo.json").write_text(json.dumps(["A dog on a sofa.", "A red car."]))
    (bench / "anime.json").write_text(json.dumps(["Walter White as a medieval king."]))
    one = load_prompt_set(str(bench / "photo.json"))
    assert one.prompts == ["A dog on a sofa.", "A red car."] and one.groups == ["photo", "photo"]
    folder = load_prompt_set(str(bench))
    assert folder.prompts[0] == "Walter White as a medieval king." and folder.groups == ["anime", "photo", "photo"]
    # hpsv2.benchmark_prompts('all') saved with json.dump: {style: [prompts]}.
    (tmp_path / "all.json").write_text(json.dumps({"anime": ["x"], "paintings": ["y", "z"]}))
    assert load_prompt_set(str(tmp_path / "all.json")).groups == ["anime", "paintings", "paintings"]
    (tmp_path / "objs.json").write_text(json.dumps([{"prompt": "a"}, {"caption": "b", "group": "g"}]))
    assert load_prompt_set(str(tmp_path / "objs.json")).groups == [None, "g"]


def test_pickapic_csv_and_parquet_read_the_caption_column(tmp_path):
    rows = [  # the Pick-a-Pic v2 test split repeats a caption once per ranked pair
        {"ranking_id": 1, "caption": "a corgi astronaut", "label_0": 1, "label_1": 0},
        {"ranking_id": 2, "caption": "a corgi astronaut", "label_0": 0, "label_1": 1},
        {"ranking_id": 3, "caption": "a castle at dawn", "label_0": 0.5, "label_1": 0.5},
    ]
    with open(tmp_path / "test.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    s = load_prompt_set(str(tmp_path / "test.csv"))
    assert s.prompts == ["a corgi astronaut", "a corgi astronaut", "a castle at dawn"]
    assert s.unique().prompts == ["a corgi astronaut", "a castle at dawn"]

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({
        "caption": [r["caption"] for r in rows],
        "jpg_0": [b"\x89PNG..."] * 3,  # the image columns are never read
        "ranking_id": [r["ranking_id"] for r in rows],
    })
    pq.write_table(table, tmp_path / "test-00000-of-00001.parquet")
    assert load_prompts(str(tmp_path / "test-00000-of-00001.parquet")) == s.prompts


def test_unique_and_head_keep_order():
    s = PromptSet("x", ["b", "a", "b", "c"], ["1", "2", "3", "4"])
    assert s.unique().prompts == ["b", "a", "c"] and s.unique().groups == ["1", "2", "4"]
    assert s.head(2).prompts == ["b", "a"] and len(s.head(None)) == 4


def test_prompt_file_errors(tmp_path):
    (tmp_path / "t.csv").write_text("text,score\nhello,1\n")
    with pytest.raises(InputError, match="no 'prompt' or 'caption' column.*\\['text', 'score'\\]"):
        load_prompts(str(tmp_path / "t.csv"))
    (tmp_path / "bad.json").write_text('{"anime": "not a list"}')
    with pytest.raises(InputError, match="group 'anime' must be a list"):
        load_prompts(str(tmp_path / "bad.json"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no .json files"):
        load_prompts(str(tmp_path / "empty"))
    (tmp_path / "e.json").write_text("[]")
    with pytest.raises(InputError, match="is empty"):
        load_prompts(str(tmp_path / "e.json"))
    with pytest.raises(InputError, match="toy split 'test' is unknown"):
        load_prompts("toy:test")
