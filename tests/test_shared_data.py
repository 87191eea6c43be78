"""Integration with the real data in ../shared (skipped when it is absent). Nothing is copied."""
import csv

import pandas as pd

from genre_models import train as train_cli
from genre_models.models.checkpoint import read_config
from genre_models.data.films import load_dataset
from conftest import MOVIES_CSV, needs_shared_data

pytestmark = needs_shared_data()


def test_real_csv_loads_cleanly():
    dataset = load_dataset(MOVIES_CSV, verify_posters=False)
    assert len(dataset) == 11359
    assert dataset.report.unknown_genres == {} and dataset.report.duplicate_ids == []
    assert dataset.frame["poster"].notna().sum() == 2000


def test_poster_head_trains_on_a_few_real_posters(tiny_models, tmp_path):
    frame = pd.read_csv(MOVIES_CSV, dtype=str, keep_default_na=False)
    frame = frame[frame["poster"] != ""].head(60).copy()
    frame["poster"] = [str(MOVIES_CSV.parent / p) for p in frame["poster"]]  # absolute: CSV lives in tmp
    subset = tmp_path / "few.csv"
    frame.to_csv(subset, index=False, quoting=csv.QUOTE_MINIMAL)
    out = tmp_path / "head"
    assert train_cli.main(["--data", str(subset), "--models", "tiny-clip-vit", "--out", str(out), "--epochs", "2",
                           "--cache-dir", str(tmp_path / "cache"), "--no-progress"]) == 0
    config = read_config(out)
    assert config["data"]["with_poster"] == 60 and config["embedding_dim"] == 16
