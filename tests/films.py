"""A small films CSV written by the tests (plots from a tiny vocabulary, posters drawn by PIL)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

# genre -> words its plots use and a poster colour, so the tiny models have something to learn
GENRE_STYLE = {
    "Horror": ("ghost haunted house", (20, 0, 0)),
    "Romance": ("love two strangers fall", (250, 150, 180)),
    "Sci-Fi": ("space science fiction", (0, 40, 160)),
    "Comedy": ("comedy full of fun", (250, 220, 0)),
}


def write_films_csv(folder: Path, n: int = 80, seed: int = 0, with_problems: bool = True) -> Path:
    """n films with 1-2 genres each; optionally the bad rows loading must report."""
    rng = np.random.default_rng(seed)
    posters = folder / "posters"
    posters.mkdir(parents=True, exist_ok=True)
    names = list(GENRE_STYLE)
    rows = []
    for i in range(n):
        genres = list(rng.choice(names, size=int(rng.integers(1, 3)), replace=False))
        plot = " ".join(GENRE_STYLE[g][0] for g in genres) + f" . the story of people {i} ."
        colour = np.mean([GENRE_STYLE[g][1] for g in genres], axis=0)
        pixels = np.clip(rng.normal(colour, 30, (48, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(posters / f"f{i}.png")
        rows.append({"id": f"f{i}", "title": f"Film {i}", "year": "2000", "genres": "|".join(genres),
                     "plot": plot, "poster": f"posters/f{i}.png"})
    if with_problems:
        rows[0]["genres"] = rows[0]["genres"] + "|Science Fiction|Spaghetti|TV Movie"
        rows[1]["poster"] = "posters/missing.png"
        (posters / "broken.png").write_bytes(b"\x89PNG\r\n not really")
        rows[2]["poster"] = "posters/broken.png"
        rows[3]["plot"] = "   "
        rows.append(dict(rows[4]))  # duplicate id
        rows.append({"id": "nogenre", "title": "x", "year": "", "genres": "Biography", "plot": "x",
                     "poster": ""})
    path = folder / "films.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "title", "year", "genres", "plot", "poster"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_second_source(folder: Path, n: int = 40, seed: int = 1, repeat_id: str | None = None) -> Path:
    """Another films CSV (ids ``g0``...), for pools of several files; ``repeat_id`` adds a row whose id
    is already in the first file."""
    path = write_films_csv(folder, n=n, seed=seed, with_problems=False)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["id"] = frame["id"].str.replace("f", "g", regex=False)
    if repeat_id:
        frame = pd.concat([frame, frame.iloc[[0]].assign(id=repeat_id)], ignore_index=True)
    target = folder / "second.csv"
    frame.to_csv(target, index=False)
    path.unlink()
    return target
