"""TF-IDF + logistic regression on the plot: the plain baseline, as a model that can be saved and served.

One recipe, used both by the ``tfidf-logreg`` baseline of every evaluation and by the ``tfidf`` model
key, so the model the app shows is the baseline the reports compare against. Saved without pickle:

- ``model.safetensors``: ``idf`` [V] (float64, as sklearn keeps it), ``weight`` [G, V] and ``bias`` [G]
  (one binary logistic regression per genre);
- ``vocabulary.json``: the V terms in column order;
- ``config.json``: genres, per-genre thresholds, the vectorizer's settings, digests of both files.

Loading rebuilds sklearn's ``TfidfVectorizer`` with the fixed vocabulary and idf, so a plot is turned
into the same vector as at training time; a genre's probability is ``sigmoid(x · weight + bias)``,
what ``LogisticRegression.predict_proba`` gives.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.numpy import load_file, save_file

from ..errors import CheckpointError
from ..files import file_sha256
from ..genres import resolve_genres
from .checkpoint import read_config, write_config
from .families.base import Encoded, TextEncoder

FORMAT = "genrelens-tfidf/1"
WEIGHTS_NAME, VOCABULARY_NAME, CONFIG_NAME = "model.safetensors", "vocabulary.json", "config.json"
# word unigrams and bigrams, sublinear term frequency, English stop words dropped
VECTORIZER = {"sublinear_tf": True, "ngram_range": [1, 2], "min_df": 2, "max_features": 100_000,
              "stop_words": "english"}
DEFAULT_C = 4.0


def _vectorizer(settings: dict[str, Any], vocabulary: dict[str, int] | None = None):
    """sklearn's vectorizer with these settings; given a vocabulary, sklearn ignores min_df and max_features."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    return TfidfVectorizer(vocabulary=vocabulary, **{**settings, "ngram_range": tuple(settings["ngram_range"])})


@dataclass
class TfidfLogReg:
    """A fitted TF-IDF vectorizer and one logistic regression per genre."""

    genres: tuple[str, ...]
    vectorizer: Any  # a fitted sklearn TfidfVectorizer
    weight: np.ndarray  # [G, V] float32
    bias: np.ndarray  # [G] float32
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def fit(cls, texts: Sequence[str], labels: np.ndarray, genres: Sequence[str], C: float = DEFAULT_C,
            n_jobs: int = 2) -> "TfidfLogReg":
        """Fit on plots and their [N, G] 0/1 labels. A genre no training film has is never predicted."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        vectorizer = _vectorizer(VECTORIZER)
        x = vectorizer.fit_transform(texts)
        with warnings.catch_warnings():  # a genre in no training film (or in all) gets a constant classifier, below
            warnings.filterwarnings("ignore", message="Label (not )?[0-9]+ is present in all training examples")
            model = OneVsRestClassifier(LogisticRegression(C=C, max_iter=2000), n_jobs=n_jobs).fit(x, labels)
        weight = np.zeros((len(genres), x.shape[1]), dtype=np.float32)
        bias = np.zeros(len(genres), dtype=np.float32)
        for j, estimator in enumerate(model.estimators_):
            if hasattr(estimator, "coef_"):
                weight[j], bias[j] = estimator.coef_[0], estimator.intercept_[0]
            else:  # sklearn's constant classifier: the genre is in every training film (p = 1) or in none (p = 0)
                bias[j] = 30.0 if estimator.predict_proba(x[:1])[0, 1] > 0.5 else -30.0
        return cls(tuple(genres), vectorizer, weight, bias, {"C": C, "vectorizer": VECTORIZER})

    def __post_init__(self):
        # float64 like sklearn's own products; transposed and converted once, not on every plot
        self._weight_t = np.ascontiguousarray(self.weight.T, dtype=np.float64)

    def decision(self, texts: Sequence[str]) -> np.ndarray:
        """[N, G] logits (float32)."""
        return self.read(texts)[0]

    def read(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """([N, G] logits, [N] how many vocabulary terms each text holds). A text with none gets the bias
        alone: the same logits for every such text, so it was not read, only answered."""
        x = self.vectorizer.transform(list(texts))
        return (np.asarray(x @ self._weight_t) + self.bias).astype(np.float32), np.diff(x.indptr)

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[N, G] independent genre probabilities."""
        return 1.0 / (1.0 + np.exp(-self.decision(texts).astype(np.float64)))

    @property
    def vocabulary_size(self) -> int:
        return self.weight.shape[1]

    def save(self, directory: str | Path, thresholds: dict[str, float], **extra: Any) -> Path:
        """Write the three files (see the module docstring); ``extra`` goes into config.json."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        terms = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        save_file({"idf": np.asarray(self.vectorizer.idf_, dtype=np.float64),
                   "weight": np.ascontiguousarray(self.weight, dtype=np.float32),
                   "bias": np.ascontiguousarray(self.bias, dtype=np.float32)}, str(directory / WEIGHTS_NAME))
        (directory / VOCABULARY_NAME).write_text(json.dumps(terms, ensure_ascii=False))
        config = {"format": FORMAT, "genres": list(self.genres),
                  "thresholds": {g: float(thresholds[g]) for g in self.genres},
                  "vectorizer": self.config.get("vectorizer", VECTORIZER), "C": self.config.get("C"),
                  "vocabulary_size": len(terms), **extra}
        self.config = write_config(directory, config, {"weights_sha256": WEIGHTS_NAME,
                                                       "vocabulary_sha256": VOCABULARY_NAME})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "TfidfLogReg":
        """Read a saved model, checking both files against the digests config.json records.

        Raises CheckpointError naming what is wrong (a missing or altered file, mismatched shapes).
        """
        directory = Path(directory)
        config = read_config(directory)  # finite, typed numbers, or CheckpointError
        if config.get("format") != FORMAT:
            raise CheckpointError(f"{directory / CONFIG_NAME} is not a TF-IDF model ({FORMAT})")
        for name, digest in ((WEIGHTS_NAME, "weights_sha256"), (VOCABULARY_NAME, "vocabulary_sha256")):
            path = directory / name
            if not path.is_file():
                raise CheckpointError(f"no {name} in {directory}")
            if file_sha256(path) != config.get(digest):
                raise CheckpointError(f"{path} does not match the sha256 its config.json records: the file is "
                                      "corrupt or was replaced; train it again or restore it")
        try:
            genres = resolve_genres(config["genres"])
            thresholds = [config["thresholds"][g] for g in genres]
            tensors = load_file(str(directory / WEIGHTS_NAME))
            terms = json.loads((directory / VOCABULARY_NAME).read_text())
            idf, weight, bias = tensors["idf"], tensors["weight"], tensors["bias"]
        except Exception as exc:  # a field, genre or tensor missing from files whose digests match
            raise CheckpointError(f"TF-IDF model in {directory} is incomplete: {exc!r}") from None
        shapes = (idf.shape, weight.shape, bias.shape)
        if shapes != ((len(terms),), (len(genres), len(terms)), (len(genres),)) or len(thresholds) != len(genres):
            raise CheckpointError(f"TF-IDF model in {directory}: {len(terms)} terms and {len(genres)} genres, "
                                  f"but tensors of shapes {shapes}")
        vectorizer = _vectorizer(config["vectorizer"], {term: i for i, term in enumerate(terms)})
        vectorizer.idf_ = idf
        return cls(tuple(genres), vectorizer, weight, bias, config)


class TfidfEncoder(TextEncoder):
    """Plots -> the fitted model's [N, G] genre logits."""

    def __init__(self, model: TfidfLogReg):
        self.sparse_model = model
        self.model = torch.nn.Identity()  # nothing to hook: the explanation is word occlusion
        self.embedding_dim = len(model.genres)

    def encode(self, inputs: Sequence[str]) -> Encoded:
        logits, terms = self.sparse_model.read(inputs)
        return Encoded(torch.from_numpy(logits), [False] * len(inputs), [int(n) == 0 for n in terms])

    unread_reason = "none of its words is in the vocabulary it learned from its training plots"
