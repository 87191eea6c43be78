"""Timing helpers, the machine's description and the result every benchmark returns."""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import torch


def median_seconds(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"{cpu}, {os.cpu_count()} cores{memory}{gpu}; torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads; Python {platform.python_version()}")


@dataclass
class Ratio:
    label: str
    value: float
    target: str  # e.g. "<= 1.10"
    met: bool | None  # None: no target


@dataclass
class BenchResult:
    name: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, label: str, value: str) -> None:
        self.figures.append((label, value))
        print(f"  {label}: {value}", flush=True)

    def ratio(self, label: str, value: float, target: str | None = None, met: bool | None = None) -> None:
        self.ratios.append(Ratio(label, value, target or "", met))

    def print_ratios(self) -> None:
        for r in self.ratios:
            verdict = "" if r.met is None else ("  target met" if r.met else "  TARGET MISSED")
            target = f" (target {r.target})" if r.target else ""
            print(f"  RATIO {r.label}: {r.value:.2f}{target}{verdict}", flush=True)

    def markdown(self) -> list[str]:
        lines = [f"## {self.name} ({self.seconds:.0f} s)", "", "| figure | value |", "|---|---:|"]
        lines += [f"| {label} | {value} |" for label, value in self.figures]
        lines += ["", "| ratio | value | target | met |", "|---|---:|---|---|"]
        lines += [f"| {r.label} | {r.value:.2f} | {r.target or '–'} | "
                  f"{'–' if r.met is None else 'yes' if r.met else '**no**'} |" for r in self.ratios]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return lines + [""]
