"""Regenerate ``tests/golden/<key>_trained.json``: the shipped plot models' answers on fixed plots.

    python tools/make_golden.py

One file for MiniLM and one for the MiniLM + TF-IDF ensemble. Run it only after deliberately retraining
one of ``checkpoints/minilm``, ``checkpoints/tfidf`` or ``checkpoints/minilm-tfidf``; the golden tests
exist to fail when weights, thresholds or the inference path change by accident.
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
CHECKPOINTS = ROOT / "checkpoints"
# each golden file and the checkpoint folders whose files it belongs to
MODELS = {"minilm": ["minilm"], "minilm-tfidf": ["minilm", "tfidf", "minilm-tfidf"]}


def golden_path(key: str) -> Path:
    return ROOT / "tests" / "golden" / f"{key.replace('-', '_')}_trained.json"


def main() -> int:
    pool = ModelPool()
    for key, folders in MODELS.items():
        predictor = pool.get(key)
        answers = []
        for plot in PLOTS:
            pred = predictor.predict(plot=plot, mode="trained")
            if not pred.ok:
                print(f"error: {pred.message}", file=sys.stderr)
                return 1
            answers.append({"plot": plot, "predicted": pred.predicted,
                            "probabilities": {g: round(p, 7) for g, p in pred.probabilities.items()}})
        digests = {str(path.relative_to(CHECKPOINTS)): file_sha256(path) for folder in folders
                   for path in sorted((CHECKPOINTS / folder).iterdir()) if path.suffix in (".json", ".safetensors")}
        golden_path(key).write_text(json.dumps({"checkpoint_sha256": digests, "answers": answers}, indent=1) + "\n")
        print(f"wrote {golden_path(key).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
