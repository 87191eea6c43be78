"""The TF-IDF + logistic regression model: sklearn's answers, saved without pickle, checked on load."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier

from genre_models.errors import CheckpointError
from genre_models.files import file_sha256
from genre_models.models.tfidf import VECTORIZER, TfidfLogReg

WORDS = {"Horror": "ghost haunted house scream", "Romance": "love kiss wedding heart",
         "Comedy": "joke laugh prank funny"}
GENRES = ["Horror", "Romance", "Comedy", "Western"]  # no film is a Western


def corpus(n=60, seed=0):
    rng = np.random.default_rng(seed)
    texts, labels = [], np.zeros((n, len(GENRES)), dtype=int)
    for i in range(n):
        picked = rng.choice(3, size=int(rng.integers(1, 3)), replace=False)
        labels[i, picked] = 1
        words = " ".join(WORDS[GENRES[j]] for j in picked).split()
        texts.append(" ".join(rng.permutation(words + ["people", "town", f"day{i % 7}"])))
    return texts, labels


@pytest.fixture(scope="module")
def fitted():
    texts, labels = corpus()
    return TfidfLogReg.fit(texts, labels, GENRES, n_jobs=1), texts, labels


@pytest.mark.filterwarnings("ignore:Label not 3 is present")  # the reference's constant Western classifier
def test_answers_are_sklearns_one_vs_rest_logistic_regression(fitted):
    model, texts, labels = fitted
    vectorizer = TfidfVectorizer(**{**VECTORIZER, "ngram_range": tuple(VECTORIZER["ngram_range"])})
    x = vectorizer.fit_transform(texts)
    reference = OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=2000)).fit(x, labels)
    new = ["a ghost in the house", "they fall in love at a wedding", "a funny prank"]
    expected = reference.predict_proba(vectorizer.transform(new))
    np.testing.assert_allclose(model.probabilities(new), expected, atol=1e-6)
    top = model.probabilities(new)[:, :3].argmax(axis=1)
    assert top.tolist() == [0, 1, 2]


def test_a_genre_no_training_film_has_is_never_predicted(fitted):
    model, _, _ = fitted
    assert (model.probabilities(["a ghost", "a cowboy on a horse"])[:, 3] < 1e-9).all()


def test_saved_and_loaded_it_answers_the_same(fitted, tmp_path):
    model, texts, _ = fitted
    thresholds = {"Horror": 0.3, "Romance": 0.4, "Comedy": 0.5, "Western": 0.5}
    folder = tmp_path / "new" / "tfidf"  # made, parents too
    model.save(folder, thresholds, model_key="t")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors", "vocabulary.json"]
    loaded = TfidfLogReg.load(folder)
    assert loaded.genres == tuple(GENRES) and loaded.config["thresholds"] == thresholds
    assert loaded.config["model_key"] == "t" and loaded.config["format"] == "genrelens-tfidf/1"
    assert loaded.config["C"] == 4.0 and loaded.config["vectorizer"] == VECTORIZER
    assert loaded.config["vocabulary_size"] == loaded.vocabulary_size == len(model.vectorizer.vocabulary_)
    np.testing.assert_array_equal(loaded.probabilities(texts + ["unseen words only"]),
                                  model.probabilities(texts + ["unseen words only"]))


def _saved(model, folder):
    model.save(folder, {g: 0.5 for g in GENRES})
    return folder


def test_an_altered_weights_file_is_refused(fitted, tmp_path):
    folder = _saved(fitted[0], tmp_path)
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-3] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as info:
        TfidfLogReg.load(folder)
    assert str(info.value) == (f"{folder / 'model.safetensors'} does not match the sha256 its config.json records: "
                               "the file is corrupt or was replaced; train it again or restore it")


def test_missing_and_foreign_files_are_refused(fitted, tmp_path):
    folder = _saved(fitted[0], tmp_path / "a")
    (folder / "vocabulary.json").unlink()
    with pytest.raises(CheckpointError, match="no vocabulary.json in"):
        TfidfLogReg.load(folder)
    with pytest.raises(CheckpointError, match="no config.json in"):
        TfidfLogReg.load(tmp_path / "nothing")
    head = tmp_path / "head"
    head.mkdir()
    (head / "config.json").write_text(json.dumps({"format": "genrelens-head/1"}))
    with pytest.raises(CheckpointError, match="is not a TF-IDF model"):
        TfidfLogReg.load(head)
    (head / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=f"^{head / 'config.json'} is not valid JSON: Expecting"):
        TfidfLogReg.load(head)


def test_a_config_missing_a_field_is_refused(fitted, tmp_path):
    folder = _saved(fitted[0], tmp_path)
    config = json.loads((folder / "config.json").read_text())
    del config["thresholds"]["Comedy"]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"^TF-IDF model in {folder} is incomplete: KeyError\\('Comedy'\\)$"):
        TfidfLogReg.load(folder)


def test_a_vocabulary_of_another_size_is_refused(fitted, tmp_path):
    folder = _saved(fitted[0], tmp_path)
    terms = json.loads((folder / "vocabulary.json").read_text())
    (folder / "vocabulary.json").write_text(json.dumps(terms[:-1]))
    config = json.loads((folder / "config.json").read_text())
    config["vocabulary_sha256"] = file_sha256(folder / "vocabulary.json")  # consistent digests, wrong shapes
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=f"{len(terms) - 1} terms and 4 genres, but tensors of shapes"):
        TfidfLogReg.load(folder)


def test_genres_in_no_film_or_in_every_film_are_handled_without_a_warning():
    texts, labels = corpus(n=20, seed=1)
    labels = np.column_stack([labels, np.ones(len(texts), dtype=int)])  # every film is a Drama
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn says "Label (not) N is present in all training examples"
        model = TfidfLogReg.fit(texts, labels, GENRES + ["Drama"], n_jobs=1)
    assert model.bias[3] == -30.0 and model.bias[4] == 30.0 and not model.weight[3:].any()
    probabilities = model.probabilities(["a cowboy", "a ghost"])
    assert (probabilities[:, 3] < 1e-9).all() and (probabilities[:, 4] > 1 - 1e-9).all()
    assert model.weight.dtype == model.bias.dtype == np.float32  # 18 x 100k weights: not float64


def test_the_feature_cache_key_follows_a_retrained_model(tmp_path):
    """TF-IDF's "features" are its logits: a cache entry of the old weights must not serve the new ones."""
    from conftest import registered
    from films import write_films_csv
    from genre_models import ModelPool, ModelSpec
    from genre_models.train import main as train
    films = write_films_csv(tmp_path / "data", n=60, with_problems=False)
    folder = tmp_path / "checkpoints" / "tiny-tfidf"
    identities = []
    with registered([ModelSpec("tiny-tfidf", "tfidf-text", {}, "Tiny TF-IDF", checkpoint=str(folder))]):
        for seed in ("0", "1"):
            assert train(["--data", str(films), "--models", "tiny-tfidf", "--overwrite", "--split-seed", seed]) == 0
            predictor = ModelPool().get("tiny-tfidf")
            predictor.load()
            digest = json.loads((folder / "config.json").read_text())["weights_sha256"]
            assert predictor.backbone_identity()["weights_sha256"] == digest
            identities.append(predictor.feature_identity(True))
    assert identities[0] != identities[1]


@pytest.mark.parametrize("value, said", [("NaN", "'thresholds.Comedy' is NaN"),
                                         ('"0.5"', "'thresholds.Comedy' must be a number, got '0.5'")])
def test_a_threshold_that_is_not_a_finite_number_is_refused_by_field(fitted, tmp_path, value, said):
    """Issue 33, item 17: through the one reader of trained configs (checkpoint.read_config)."""
    folder = _saved(fitted[0], tmp_path)
    config = json.loads((folder / "config.json").read_text())
    text = json.dumps({**config, "thresholds": {**config["thresholds"], "Comedy": "@"}}).replace('"@"', value)
    (folder / "config.json").write_text(text)
    with pytest.raises(CheckpointError, match=said):
        TfidfLogReg.load(folder)
