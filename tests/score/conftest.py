"""Fixtures for scorer tests: tokenizers written to folders, a tiny CLIP folder, images."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch
from tiny_parts import clip_vocab, tiny_clip_config


@pytest.fixture(scope="session")
def clip_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import CLIPTokenizer

    folder = tmp_path_factory.mktemp("clip_tokenizer")
    CLIPTokenizer(vocab=clip_vocab(), merges=[]).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def bert_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertTokenizer

    folder = tmp_path_factory.mktemp("bert_tokenizer")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, "cat", "dog", "red", "blue"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizer(vocab_file=str(folder / "vocab.txt")).save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_clip_dir(tmp_path: Path, clip_tokenizer_dir: Path) -> Path:
    """A CLIPModel folder (as PickScore_v1 / openai CLIP are published) with tokenizer files beside it."""
    from transformers import CLIPModel, CLIPTokenizer

    torch.manual_seed(0)
    CLIPModel(tiny_clip_config()).save_pretrained(tmp_path / "clip")
    CLIPTokenizer.from_pretrained(clip_tokenizer_dir).save_pretrained(tmp_path / "clip")
    return tmp_path / "clip"


@pytest.fixture
def images() -> torch.Tensor:
    """Four 32 x 32 RGB images in [0, 1]: the models' own size, so preprocessing only normalises."""
    return torch.rand(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
