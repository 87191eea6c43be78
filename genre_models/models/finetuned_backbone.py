"""A fine-tuned plot model's backbone beside its head: ``backbone.safetensors`` holds the transformer
tensors that fine-tuning changed (fp16; the frozen word embeddings are left out), and the head's
config.json names it (``finetuned_backbone``) and records its sha256 (``finetuned_backbone_sha256``).
Written by ``train --finetune`` (``training/finetune.py``), read by the plot model's predictor.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError
from ..files import file_sha256

BACKBONE_FILE = "backbone.safetensors"


def save_backbone(directory: Path, state: dict[str, torch.Tensor]) -> tuple[str, str]:
    """Write the fine-tuned tensors as fp16 safetensors; returns (file name, sha256)."""
    path = Path(directory) / BACKBONE_FILE
    save_file({k: v.half().contiguous() if v.is_floating_point() else v.contiguous()
               for k, v in state.items()}, str(path), metadata={"format": "pt"})
    return BACKBONE_FILE, file_sha256(path)


def encoder_with_backbone(encoder, state: dict[str, torch.Tensor]):
    """A copy of ``encoder`` carrying the fine-tuned tensors in ``state``; the tensors not stored (the
    frozen word embeddings) stay the base model's. The original keeps serving zero-shot."""
    tuned = copy.deepcopy(encoder)
    # load_state_dict copies into the model's own tensors, so fp16 files come back in the model's dtype
    result = tuned.model.load_state_dict(state, strict=False)
    if result.unexpected_keys:
        raise CheckpointError(f"tensors this backbone lacks: {', '.join(result.unexpected_keys[:5])}")
    tuned.model.eval()
    return tuned


def load_finetuned_encoder(encoder, directory: str | Path, config: dict[str, Any]):
    """(encoder copy with the checkpoint's fine-tuned backbone, its sha256), checked against config.json."""
    path = Path(directory) / config["finetuned_backbone"]
    try:
        digest = file_sha256(path)
        recorded = config.get("finetuned_backbone_sha256")
        if recorded and digest != recorded:
            raise CheckpointError("the file does not match the sha256 its config records")
        state = load_file(str(path))
        return encoder_with_backbone(encoder, state), digest
    except Exception as exc:  # missing, corrupt (safetensors' own error types) or another architecture
        raise CheckpointError(f"fine-tuned backbone {path.name} not loaded: {exc}") from exc
