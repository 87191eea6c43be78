"""Zero-shot genre scores from text prompts (open_clip's ``build_zero_shot_classifier`` idea).

Each genre's prompts are embedded, averaged over templates and re-normalised once, then cached per
genre, so asking about a new genre list only embeds the genres not seen before.

Probability choice: each genre is compared with a *neutral* prompt made from the same templates
without a genre word, and

    p(genre) = sigmoid(scale * (cos(x, genre) - cos(x, neutral)) + bias)

This is the two-way softmax "genre vs. plain movie" that CLIP was trained to answer, so it keeps
CLIP's own logit scale, and it is independent per genre: adding or removing a genre never changes
another genre's probability (a softmax across genres would, and would force the probabilities of a
multi-genre film to compete). ``scale``/``bias`` can be calibrated on labelled data.

A model trained with a sigmoid loss (SigLIP, Zhai et al. 2023; SigLIP 2, Tschannen et al. 2025) already
scores each text on its own, ``p = sigmoid(scale * cos(x, text) + bias)`` with its learned scale and bias:
there ``contrast=False`` drops the neutral prompt and the model's own sigmoid answers per genre.
"""
from __future__ import annotations

import copy

import threading
from collections import OrderedDict
from typing import Callable, Sequence

import torch

PromptFn = Callable[[str], list[str]]
# Custom genres are free text: without a bound, every new phrase a visitor types would stay in
# memory for the server's life. The 18 genres plus many custom lists fit well within this.
MAX_CACHED_GENRES = 512


class ZeroShotScorer:
    """Caches genre text embeddings for one text encoder and one prompt set."""

    def __init__(self, encode_prompts: Callable[[Sequence[str]], torch.Tensor], prompts: PromptFn,
                 scale: float, bias: float = 0.0, max_cached: int = MAX_CACHED_GENRES, contrast: bool = True):
        self._encode = encode_prompts
        self.contrast = contrast  # False: no neutral prompt, ``scale * cos genre + bias`` (a sigmoid-trained model)
        self._prompts = prompts
        self.scale = float(scale)
        self.bias = float(bias)
        self.max_cached = max_cached
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def calibrated(self, scale: float, bias: float) -> "ZeroShotScorer":
        """The same prompts and embedding cache with another scale and bias (a checkpoint's calibration)."""
        other = copy.copy(self)
        other.scale, other.bias = float(scale), float(bias)
        return other

    def margins(self, features: torch.Tensor, genres: Sequence[str]) -> torch.Tensor:
        """``cos genre - cos neutral`` (``cos genre`` without contrast): what scale and bias turn into a logit."""
        classes, neutral = self._embeddings(genres)
        similarity = features @ classes.clone().T
        return similarity - (features @ neutral.clone()).unsqueeze(1) if self.contrast else similarity

    def genre_embeddings(self, genres: Sequence[str]) -> torch.Tensor:
        """[len(genres), D] normalised embeddings, computed once per genre and cached."""
        return self._embeddings(genres)[0]

    def _embeddings(self, genres: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(genre embeddings, the neutral prompt's embedding or None without contrast); the cache keeps the
        most recently asked."""
        neutral_prompt = [""] if self.contrast else []
        with self._lock:
            todo = [g for g in dict.fromkeys(neutral_prompt + list(genres)) if g not in self._cache]
            if todo:
                # One batched call for all new genres: a model call per genre would be much slower.
                prompts = [self._prompts(g) for g in todo]
                flat = self._encode([p for group in prompts for p in group])
                start = 0
                for genre, group in zip(todo, prompts):
                    mean = flat[start:start + len(group)].mean(dim=0)
                    self._cache[genre] = mean / mean.norm()
                    start += len(group)
            wanted = neutral_prompt + list(genres)
            for genre in wanted:
                self._cache.move_to_end(genre)
            out, neutral = torch.stack([self._cache[g] for g in genres]), self._cache.get("") if self.contrast else None
            while len(self._cache) > max(self.max_cached, len(set(wanted))):
                self._cache.popitem(last=False)  # the least recently asked genre
            return out, neutral

    def probabilities(self, features: torch.Tensor, genres: Sequence[str]) -> torch.Tensor:
        """[N, D] normalised features -> [N, len(genres)] independent probabilities."""
        return torch.sigmoid(self.logits(features, genres))

    def logits(self, features: torch.Tensor, genres: Sequence[str]) -> torch.Tensor:
        """``scale * margins + bias`` before the sigmoid; differentiable in ``features``
        (the cached embeddings are copied out of inference mode, so autograd may keep them)."""
        return self.scale * self.margins(features, genres) + self.bias
