"""Regenerate ``tests/golden/minilm_trained.json``: the shipped MiniLM checkpoint's answers on fixed plots.

    python tools/make_golden.py

Run it only after deliberately retraining ``checkpoints/minilm``; the golden test exists to fail when
the head's weights, its thresholds or the inference path change by accident.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from genre_models import ModelPool  # noqa: E402
from genre_models.files import file_sha256  # noqa: E402

# Our own one-line plots (no copyrighted text), one per broad kind of film.
PLOTS = [
    "A family moves into an old country house. At night doors slam, a ghost whispers in the walls and "
    "something in the cellar wants their youngest daughter.",
    "Two strangers meet on a night train to Vienna and fall in love over one long conversation before "
    "they must part at dawn.",
    "A crew of astronauts travels through a wormhole near Saturn to find a new home for humanity as Earth dies.",
    "A retired hitman seeks revenge on the gangsters who killed his dog, leaving a trail of bodies across New York.",
    "A documentary following penguins in Antarctica as they march across the ice to breed.",
    "Cowboys drive cattle across the frontier while outlaws and a corrupt sheriff stand in their way.",
]
GOLDEN = ROOT / "tests" / "golden" / "minilm_trained.json"


def main() -> int:
    predictor = ModelPool().get("minilm")
    answers = []
    for plot in PLOTS:
        pred = predictor.predict(plot=plot, mode="trained")
        if not pred.ok:
            print(f"error: {pred.message}", file=sys.stderr)
            return 1
        answers.append({"plot": plot, "predicted": pred.predicted,
                        "probabilities": {g: round(p, 7) for g, p in pred.probabilities.items()}})
    checkpoint = ROOT / "checkpoints" / "minilm"
    GOLDEN.write_text(json.dumps({
        "checkpoint_sha256": {name: file_sha256(checkpoint / name)
                              for name in ("model.safetensors", "config.json", "backbone.safetensors")},
        "answers": answers}, indent=1) + "\n")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
