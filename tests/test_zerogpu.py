"""ZeroGPU: with a stand-in ``spaces`` package on sys.path, every model-running handler is wrapped with a
duration priced from its models, and the lineup is on ``cuda`` at start; without it nothing changes."""
from __future__ import annotations

import sys
import textwrap
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from genre_models import ModelSpec, register_model
from genre_models.models.families import POSTER, Fetch, default_device, ImageEncoder, ModelFamily, register_family, unregister_family
from genre_models.models.registry import unregister_model
from genre_models.zerogpu import GpuBudget, chosen_models

# What the real package exposes and GenreLens uses: spaces.GPU(task, duration=...) and spaces.config.Config.
STANDIN = '''
import json, os
WRAPPED = []

def GPU(task=None, *, duration=None, size=None):
    if task is None or not callable(task):
        return lambda fn: GPU(fn, duration=duration, size=size)
    WRAPPED.append((task.__name__, duration))
    return task
'''
STANDIN_CONFIG = '''
class Settings:
    zero_gpu = {zero_gpu}

Config = Settings()
'''


def _standin(tmp_path, monkeypatch, zero_gpu: bool):
    folder = tmp_path / "site"
    (folder / "spaces").mkdir(parents=True)
    (folder / "spaces" / "__init__.py").write_text(textwrap.dedent(STANDIN))
    (folder / "spaces" / "config.py").write_text(STANDIN_CONFIG.format(zero_gpu=zero_gpu))
    for name in [m for m in sys.modules if m == "spaces" or m.startswith("spaces.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(folder))
    import spaces
    return spaces


class RecordingEncoder(ImageEncoder):
    """A poster's mean colour; remembers the device it was given, whether it ever ran, and whether its
    CPU-side zero-shot work was prepared."""

    embedding_dim = 3

    def __init__(self, device, log):
        self.model, self.device, self.log = torch.nn.Identity(), device, log
        log["devices"].append(str(device))

    def prepare(self):
        self.log["prepared"] += 1

    def encode_prompts(self, texts):
        self.log["forward"] += 1
        return torch.ones(len(texts), 3)

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((8, 8)), dtype=np.float32) / 255).permute(2, 0, 1)

    def encode_pixels(self, pixels):
        self.log["forward"] += 1
        return pixels.mean(dim=(2, 3))


@dataclass(frozen=True)
class NoSettings:
    pass


class RecordingFamily(ModelFamily):
    name = "toy-recording"
    settings_type = NoSettings
    inputs = (POSTER,)
    log: dict = {}

    def download_plan(self, spec):
        return [Fetch(spec.key, None, note="computed, nothing to fetch")]

    def load(self, spec, device):
        return RecordingEncoder(device, self.log)

    def has_zero_shot(self, spec):
        return True  # so the predictor prepares zero-shot work at start, as ConSE's class names are


RecordingFamily.prompts = staticmethod(lambda genre: [genre or "a film"])


@pytest.fixture
def recorded_models(tmp_path):
    family = RecordingFamily()
    family.log.clear()
    family.log.update(devices=[], forward=0, prepared=0)
    register_family(family)
    keys = ["toy-a", "toy-b"]
    for key in keys:
        register_model(ModelSpec(key, "toy-recording", {}, key.upper(), checkpoint=str(tmp_path / key)))
    yield keys, family.log
    for key in keys:
        unregister_model(key)
    unregister_family("toy-recording")


def test_on_zerogpu_every_model_handler_is_wrapped_with_a_priced_duration(tmp_path, monkeypatch, recorded_models):
    import app
    spaces = _standin(tmp_path, monkeypatch, zero_gpu=True)
    keys, log = recorded_models
    pool = app.start_pool(keys, preload=lambda *a: pytest.fail("ZeroGPU loads at start, not in the background"))
    # the lineup is on cuda as soon as the app starts: weights placed, CPU-side zero-shot work done,
    # nothing run on the model (that is the GPU call's job)
    assert log["devices"] == ["cuda", "cuda"] and log["forward"] == 0 and log["prepared"] == 2
    assert all(pool.get(k).loaded and pool.get(k).device == torch.device("cuda") for k in keys)
    app.build_demo(keys, pool)
    durations = dict(spaces.WRAPPED)
    assert sorted(durations) == ["compare", "compare_api", "evaluate_films_api", "evaluate_films_ui", "explain",
                                 "explain_api"]
    # each duration takes the handler's own inputs and prices the models asked for
    for name, budget in [("compare", app.COMPARE_BUDGET), ("compare_api", app.COMPARE_BUDGET),
                         ("explain", app.EXPLAIN_BUDGET), ("explain_api", app.EXPLAIN_BUDGET)]:
        duration = durations[name]
        assert callable(duration)
        assert duration(None, "a plot", ["toy-a"], "auto") == budget.seconds(["toy-a"])
        assert duration(None, "a plot", None) == budget.seconds(keys)  # none chosen: the whole lineup
        assert duration(poster=None, plot="x", models="toy-b") == budget.seconds(["toy-b"])
    for name in ("evaluate_films_ui", "evaluate_films_api"):  # a whole CSV: the most a call may ask for
        assert durations[name]("films.csv", None, ["toy-a"]) == app.FILMS_BUDGET.ceiling == 120
    priced = app.COMPARE_BUDGET.seconds
    assert priced(["clip-vit-l-14", "minilm"]) > priced(["minilm"]) > 0


def test_off_zerogpu_nothing_changes(tmp_path, monkeypatch, recorded_models):
    import app
    keys, log = recorded_models
    spaces = _standin(tmp_path, monkeypatch, zero_gpu=False)  # the package installed, on other hardware
    background = []
    pool = app.start_pool(keys, preload=lambda p, k: background.append(list(k)))
    assert background == [keys] and log["devices"] == []  # loading is left to the background preload
    assert pool.device is None and not pool.get("toy-a").loaded
    pool.get("toy-a").load()  # on first use, on the default device
    assert log["devices"] == [str(default_device())]
    app.build_demo(keys, pool)
    assert spaces.WRAPPED == []
    idle = app.start_pool(keys, preload=None)  # --no-preload: nothing loads until asked
    assert idle.device is None and log["devices"] == [str(default_device())]


def test_without_the_spaces_package_nothing_changes(monkeypatch, recorded_models):
    from genre_models import zerogpu
    monkeypatch.setitem(sys.modules, "spaces", None)  # import spaces -> ImportError
    monkeypatch.setitem(sys.modules, "spaces.config", None)
    assert zerogpu.on_zero_gpu() is False

    def handler(poster, plot, models):
        return models
    assert zerogpu.gpu_handler(handler, GpuBudget({"a": 1.0}), ["a"]) is handler


def test_the_budget_is_allowance_plus_margin_times_the_models_cost():
    budget = GpuBudget({"a": 1.0, "b": 4.2}, allowance=10, margin=2, ceiling=25)
    assert budget.seconds(["a"]) == 12 and budget.seconds(["a", "b"]) == 21  # ceil(10 + 2 × 5.2)
    assert budget.seconds(["a", "a"]) == 12  # a model asked for twice runs once
    assert budget.seconds(["unknown"]) == 19  # priced as the dearest measured model, 4.2 s
    assert budget.seconds(["a", "b", "unknown"]) == 25  # 28.8 s, but never past the ceiling
    assert chosen_models("b", ["a", "b"]) == ["b"] and chosen_models([], ["a", "b"]) == ["a", "b"]
    assert chosen_models(["b", "a", "b"], ["a"]) == ["b", "a"]


def test_the_shipped_budgets_price_every_default_model():
    import app
    from genre_models.models.lineup import DEFAULT_MODELS
    keys = [s.key for s in DEFAULT_MODELS]
    assert set(app.COMPARE_BUDGET.costs) == set(keys)  # a model added to the lineup needs its measured cost
    whole = app.COMPARE_BUDGET.seconds(keys)
    assert app.COMPARE_BUDGET.allowance < whole <= 60, whole  # the whole lineup asks for less than the default
    assert app.EXPLAIN_BUDGET.seconds(["minilm"]) < app.EXPLAIN_BUDGET.seconds(keys) <= 120
