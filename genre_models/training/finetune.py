"""Full fine-tuning of a plot model (``train --finetune``): backbone + head trained together with BCE.

The word-embedding table stays frozen (half of MiniLM's weights, and the part that moves least),
so the checkpoint stores only the transformer layers that changed, as fp16 safetensors beside the
head. Runs on a GPU when there is one and, slowly, on CPU.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from tqdm.auto import tqdm

from ..files import file_sha256
from ..models.checkpoint import BACKBONE_FILE
from ..models.families.hf_text import mean_pool
from ..models.checkpoint import GenreHead
from .fit import HeadConfig, selection_score


@dataclass
class FinetuneResult:
    head: GenreHead
    backbone_state: dict[str, torch.Tensor]  # only the fine-tuned (non-frozen) tensors
    thresholds: np.ndarray
    val_metrics: dict
    best_epoch: int
    history: list[dict]
    val_probabilities: np.ndarray  # the best epoch's, on the validation texts in their order


class _PlotClassifier(nn.Module):
    """Transformer -> mean pool -> L2 normalise -> head: the same features the predictor uses."""

    def __init__(self, backbone: nn.Module, head: GenreHead):
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, batch: dict) -> torch.Tensor:
        hidden = self.backbone(**batch).last_hidden_state
        return self.head(F.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1))


def _length_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches of similar length (less padding), in random order."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


LOSSES = ("bce", "bce-balanced", "asymmetric")


class AsymmetricLoss(nn.Module):
    """Asymmetric loss (Ridnik et al., 2021) for multi-label data where negatives dominate.

    Easy negatives are down-weighted by ``(p_m)^gamma_neg`` with ``p_m = max(p - clip, 0)``; positives
    keep plain BCE (``gamma_pos = 0``).
    """

    def __init__(self, gamma_neg: float = 4.0, clip: float = 0.05):
        super().__init__()
        self.gamma_neg, self.clip = gamma_neg, clip

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        p = torch.sigmoid(logits)
        p_neg = (p - self.clip).clamp(min=0)
        positive = targets * F.logsigmoid(logits)
        negative = (1 - targets) * torch.log((1 - p_neg).clamp(min=1e-8)) * p_neg.pow(self.gamma_neg)
        return -(positive + negative).mean()


def make_loss(name: str, y_train: np.ndarray) -> nn.Module:
    """``bce``; ``bce-balanced``: BCE with pos_weight sqrt(negatives / positives) per genre, at most 10
    (the square root and the cap keep rare genres from flooding the thresholds); ``asymmetric``."""
    if name == "bce":
        return nn.BCEWithLogitsLoss()
    if name == "bce-balanced":
        positives = y_train.sum(axis=0).clip(min=1)
        weight = np.sqrt((len(y_train) - positives) / positives).clip(max=10.0)
        return nn.BCEWithLogitsLoss(pos_weight=torch.tensor(weight, dtype=torch.float32))
    if name == "asymmetric":
        return AsymmetricLoss()
    raise ValueError(f"unknown loss {name!r}; valid: {', '.join(LOSSES)}")


def layerwise_groups(backbone: nn.Module, lr: float, decay: float) -> list[dict]:
    """Parameter groups with layer-wise learning-rate decay: the top transformer layer gets ``lr``,
    each layer below ``decay`` times the one above, the embeddings the lowest. ``decay`` 1 = one lr."""
    layers = backbone.encoder.layer if hasattr(backbone, "encoder") else []
    depth = len(layers)
    groups: dict[float, list] = {}
    for name, param in backbone.named_parameters():
        if not param.requires_grad:
            continue
        index = next((i for i in range(depth) if name.startswith(f"encoder.layer.{i}.")), None)
        scale = decay ** (depth if name.startswith("embeddings.") else
                          (depth - 1 - index) if index is not None else 0)
        groups.setdefault(lr * scale, []).append(param)
    return [{"params": params, "lr": group_lr} for group_lr, params in groups.items()]


def finetune_text(encoder, train_texts: list[str], y_train: np.ndarray, val_texts: list[str],
                  y_val: np.ndarray, genres, config: HeadConfig, epochs: int = 3,
                  backbone_lr: float = 5e-5, max_length: int | None = None,
                  init_head: GenreHead | None = None, progress: bool = True, loss: str = "bce",
                  layer_decay: float = 1.0, patience: int | None = None) -> FinetuneResult:
    """Fine-tune ``encoder.model`` (an HFTextEncoder's transformer) together with a genre head.

    ``init_head`` is a head already trained on the frozen features ("linear probe, then fine-tune"):
    starting from it keeps the first updates from wrecking the pretrained features, and a fresh head
    on L2-normalised features learns too slowly to keep up with the backbone. ``loss`` is one of
    :data:`LOSSES`; ``layer_decay`` < 1 gives lower layers smaller learning rates; ``patience`` stops
    after that many epochs without a better validation micro-F1 (the best epoch is what returns).
    """
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    device = encoder.device
    max_length = min(max_length or encoder.max_length, encoder.max_length)
    backbone = copy.deepcopy(encoder.model).to(device)
    for param in backbone.embeddings.word_embeddings.parameters():
        param.requires_grad_(False)
    head = copy.deepcopy(init_head) if init_head is not None else GenreHead(
        encoder.embedding_dim, len(genres), kind=config.head, hidden=config.hidden, dropout=config.dropout)
    model = _PlotClassifier(backbone, head).to(device)
    groups = layerwise_groups(backbone, backbone_lr, layer_decay) + [
        {"params": list(head.parameters()), "lr": config.lr}]
    optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    lengths = encoder.token_counts(train_texts)
    # OneCycleLR divides by its warm-up length, which must be at least a step: small data gets more
    steps = max(4, epochs * ((len(train_texts) + config.batch_size - 1) // config.batch_size))
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=max(0.1, 2 / steps))
    loss_fn = make_loss(loss, y_train).to(device)
    y_train_t = torch.from_numpy(y_train)

    def tokens(texts):
        return encoder.tokenizer(texts, padding=True, truncation=True, max_length=max_length,
                                 return_tensors="pt").to(device)

    val_batches = _length_batches(encoder.token_counts(val_texts), 64, random.Random(0))

    # bf16 autocast on a GPU only: on CPU it is slower and the checkpoint is meant to match CPU runs
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")

    def val_probabilities() -> np.ndarray:
        model.eval()
        out = np.zeros((len(val_texts), len(genres)), dtype=np.float32)
        with torch.inference_mode(), autocast:
            for batch in val_batches:
                out[batch] = torch.sigmoid(model(tokens([val_texts[i] for i in batch])).float()).cpu().numpy()
        return out

    best = None
    history = []
    for epoch in range(epochs):
        model.train()
        batches = _length_batches(lengths, config.batch_size, rng)
        running = 0.0
        bar = tqdm(batches, desc=f"fine-tune epoch {epoch + 1}/{epochs}", disable=not progress)
        for step, batch in enumerate(bar):
            optimizer.zero_grad()
            with autocast:
                logits = model(tokens([train_texts[i] for i in batch]))
            loss = loss_fn(logits.float(), y_train_t[batch].to(device))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            running += loss.item()
            bar.set_postfix(loss=f"{running / (step + 1):.4f}")
        probabilities = val_probabilities()
        score, thresholds, metrics = selection_score(y_val, probabilities, genres)
        history.append({"epoch": epoch + 1, "train_loss": running / len(batches), "val_micro_f1": score,
                        "val_macro_ap": metrics["macro_ap"]})
        print(f"epoch {epoch + 1}: train loss {running / len(batches):.4f}, val micro-F1 {score:.4f}, "
              f"val macro AP {metrics['macro_ap']:.4f}", flush=True)
        if best is None or score > best[0]:
            state = {name: p.detach().cpu().clone() for name, p in backbone.named_parameters()
                     if p.requires_grad}
            state.update({name: b.detach().cpu().clone() for name, b in backbone.named_buffers()
                          if not name.startswith("embeddings.")})
            best = (score, state, copy.deepcopy(head.state_dict()), thresholds, metrics, epoch + 1,
                    probabilities)
        elif patience is not None and epoch + 1 - best[5] >= patience:
            print(f"stopping early: no better validation micro-F1 in {patience} epoch(s)", flush=True)
            break
    head.load_state_dict(best[2])
    head.eval()
    return FinetuneResult(head.cpu(), best[1], best[3], best[4], best[5], history, best[6])


def save_backbone(directory: Path, state: dict[str, torch.Tensor]) -> tuple[str, str]:
    """Write the fine-tuned tensors as fp16 safetensors; returns (file name, sha256)."""
    path = Path(directory) / BACKBONE_FILE
    save_file({k: v.half().contiguous() if v.is_floating_point() else v.contiguous()
               for k, v in state.items()}, str(path), metadata={"format": "pt"})
    return BACKBONE_FILE, file_sha256(path)
