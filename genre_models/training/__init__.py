"""Training and evaluation: the feature cache, head fitting, fine-tuning, metrics and baselines,
behind two library calls, :func:`train_model` and :func:`evaluate_models` (the CLIs only parse and print)."""
from .evaluate import evaluate_models
from .report import Report
from .scoring import score_split
from .train import TrainOptions, TrainResult, train_model

__all__ = ["Report", "TrainOptions", "TrainResult", "evaluate_models", "score_split", "train_model"]
