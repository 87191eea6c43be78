"""Hugging Face ZeroGPU: a GPU lent per call, asked for with ``spaces.GPU``.

On a ZeroGPU Space the ``spaces`` package is installed and says so (``spaces.config.Config.zero_gpu``).
There, as hub-docs ``spaces-zerogpu.md`` asks, the lineup is loaded and placed on ``cuda`` when the
app starts, outside any GPU function (ZeroGPU emulates CUDA there and moves the weights when a GPU is
attached), and every handler that runs a model is wrapped in ``spaces.GPU(duration=...)`` with a
duration computed per call from the chosen models' measured cost: a visitor's quota is checked
against the duration asked for, so asking for the default 60 s for a 2 s comparison wastes it.
Anywhere else nothing changes: no wrapper, the default device, the lineup loaded in the background.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, TypeVar

import torch

from .errors import GenreLensError
from .models.predictors import ModelPool

Handler = TypeVar("Handler", bound=Callable)
log = logging.getLogger(__name__)


def on_zero_gpu() -> bool:
    """True on a ZeroGPU Space: the ``spaces`` package is there and its config says ZeroGPU."""
    try:
        from spaces.config import Config
    except ImportError:
        return False
    return bool(Config.zero_gpu)


@dataclass(frozen=True)
class GpuBudget:
    """Seconds to ask ZeroGPU for one call that runs some models.

    Attributes:
        costs: seconds one call costs per model key, as measured (on CPU: a ceiling for a GPU); a model
            with no figure (one from --model-config) is priced as the dearest measured one.
        allowance: seconds for what no model's figure holds: attaching the GPU, moving the weights
            onto it, the first call's kernel set-up. Not measured (no ZeroGPU here): a deliberate margin.
        margin: factor on the models' sum.
        ceiling: the most a call asks for (ZeroGPU refuses a visitor whose quota is below the request).
    """

    costs: Mapping[str, float]
    allowance: float = 15.0
    margin: float = 2.0
    ceiling: float = 120.0

    @property
    def default(self) -> float:
        return max(self.costs.values(), default=self.allowance)

    def seconds(self, keys: Sequence[str]) -> int:
        """Whole seconds for a call that runs ``keys``: allowance + margin × Σ cost, at most the ceiling."""
        total = self.allowance + self.margin * sum(self.costs.get(k, self.default) for k in dict.fromkeys(keys))
        return int(min(self.ceiling, math.ceil(total)))


def chosen_models(models: str | Sequence[str] | None, lineup: Sequence[str]) -> list[str]:
    """The keys a handler will run: those asked for (one key may come bare), or the whole lineup."""
    if isinstance(models, str):
        models = [models]
    return [k for k in dict.fromkeys(models)] if models else list(lineup)


def gpu_handler(handler: Handler, budget: GpuBudget, lineup: Sequence[str]) -> Handler:
    """``handler`` wrapped in ``spaces.GPU`` on ZeroGPU, with a duration per call; ``handler`` elsewhere.

    The handler's first three parameters are (poster, plot, models), as every GenreLens handler's:
    the duration callable takes the same inputs (``spaces.GPU`` passes them) and prices ``models``.
    """
    if not on_zero_gpu():
        return handler
    import spaces

    def duration(poster=None, plot=None, models=None, *args, **kwargs) -> int:
        return budget.seconds(chosen_models(models, lineup))

    duration.__name__ = f"{handler.__name__}_duration"
    return spaces.GPU(handler, duration=duration)


def start_pool(keys: Sequence[str], preload: Callable[[ModelPool, Sequence[str]], None] | None) -> ModelPool:
    """The pool the app answers from.

    On ZeroGPU every model in ``keys`` is loaded onto ``cuda`` now, before the app serves: weights,
    and CPU-side work such as ConSE's class names, but no forward pass of the model (the first GPU call
    embeds the zero-shot prompts). A model that cannot load
    says why on its card, as anywhere. Elsewhere the pool takes the default device and ``preload``
    (when given) loads the lineup in the background.
    """
    if not on_zero_gpu():
        pool = ModelPool()
        if preload is not None:
            preload(pool, keys)
        return pool
    pool = ModelPool(device=torch.device("cuda"))
    for key in keys:
        try:
            pool.get(key).load()
        except GenreLensError:  # load() logs the cause; the card and the notice say it to the visitor
            continue
        try:
            pool.get(key).prepare()  # CPU-side work (ConSE's class names) here, not in a GPU call
        except Exception:  # a zero-shot request will say it on the card; the app must start
            log.exception("%s: preparing zero-shot at start failed", key)
    return pool
