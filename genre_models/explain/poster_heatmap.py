"""Where on the poster a model looks for a genre: Grad-CAM (pytorch-grad-cam) on the model's own score.

The target is the genre's score exactly as the model computes it: the trained head's logit, or for
zero-shot CLIP ``scale * (cos genre - cos neutral) + bias``. Layers come from the family's encoder
(``explanation_target_layers``): the last stage of a ResNet (BiT, CLIP RN50x16), and for a CLIP ViT
the last block's input norm, its patch tokens reshaped back into the image grid (the ViT reshape
transform of pytorch-grad-cam's documentation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from ..data.inputs import PosterInput, load_poster
from ..errors import InvalidInputError
from ..models.families.base import ImageEncoder
from ..models.predictors import TRAINED, BackbonePredictor, GenrePredictor
from .target import answer_and_genre

METHOD = "Grad-CAM (pytorch-grad-cam) on the genre's score"


@dataclass
class PosterHeatmap:
    """One poster model's Grad-CAM for one genre on one poster."""

    model_key: str
    genre: str
    probability: float
    mode: str
    heatmap: np.ndarray  # [H, W] in [0, 1], over the image the model saw (after resize and crop)
    seen: Image.Image  # that image, for the overlay
    layer: str
    method: str = METHOD
    random_weights: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def overlay(self, alpha: float = 0.45) -> Image.Image:
        """The heatmap over the image the model saw (viridis: bright = drives the genre)."""
        from matplotlib import colormaps
        coloured = colormaps["viridis"](self.heatmap)[:, :, :3]
        base = np.asarray(self.seen.convert("RGB"), dtype=np.float32) / 255.0
        return Image.fromarray(np.uint8(255 * ((1 - alpha) * base + alpha * coloured)))

    def peak(self) -> tuple[float, float]:
        """(row, column) of the hottest point, as fractions of the height and width."""
        row, col = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return (row + 0.5) / self.heatmap.shape[0], (col + 0.5) / self.heatmap.shape[1]


class _GenreScores(torch.nn.Module):
    """pixels -> [N, len(genres)] scores before the sigmoid: the encoder's forward pass, then the
    predictor's own head or prompts (``BackbonePredictor.genre_logits``)."""

    def __init__(self, predictor: BackbonePredictor, encoder: ImageEncoder, mode: str, genres: list[str]):
        super().__init__()
        self.encoder, self.mode, self.genres, self.predictor = encoder, mode, genres, predictor
        self.backbone = encoder.model  # registered, so pytorch-grad-cam can hook its layers

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.predictor.genre_logits(self.mode, self.encoder.pixel_features(pixels), self.genres)


def _layer_name(model: torch.nn.Module, layer: torch.nn.Module) -> str:
    return next((name for name, module in model.named_modules() if module is layer), type(layer).__name__)


def explain_poster(predictor: GenrePredictor, poster: PosterInput, genre: str | None = None,
                   mode: str = "auto") -> PosterHeatmap:
    """Grad-CAM for ``genre`` (default: the model's most probable genre) on ``poster``.

    Raises InvalidInputError (not a poster model, an unreadable poster, a genre it does not score) and
    PlanError (the model cannot answer: weights, head), with the model's own message.
    """
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    if not isinstance(predictor, BackbonePredictor) or predictor.modality != "poster" or predictor.spec.needs_plot:
        raise InvalidInputError(f"{predictor.name} does not read posters on their own: heatmaps are for "
                                "poster models")
    image = load_poster(poster)
    started = time.perf_counter()
    base, genre = answer_and_genre(predictor, genre, mode, poster=image)
    encoder = predictor.encoder_for(base.mode == TRAINED)
    layers = encoder.explanation_target_layers()
    if not layers:
        raise InvalidInputError(f"{predictor.name}: its encoder names no layer to explain")
    scores = _GenreScores(predictor, encoder, base.mode, list(base.probabilities)).eval()
    pixels = encoder.preprocess(image).unsqueeze(0).to(encoder.device)
    with GradCAM(model=scores, target_layers=layers, reshape_transform=encoder.explanation_reshape()) as cam:
        heatmap = cam(input_tensor=pixels, targets=[ClassifierOutputTarget(list(base.probabilities).index(genre))])[0]
    notes = ["random weights (test/development model): the heatmap explains nothing real"] \
        if predictor.random_weights else []
    return PosterHeatmap(predictor.key, genre, base.probabilities[genre], base.mode, np.asarray(heatmap, np.float32),
                         encoder.seen_image(pixels), _layer_name(encoder.model, layers[0]),
                         random_weights=predictor.random_weights, seconds=time.perf_counter() - started,
                         notes=notes)
