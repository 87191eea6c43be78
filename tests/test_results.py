import json

from genre_models.comparison.results import checkpoints_markdown, evaluation_report


def test_checkpoint_table_reads_configs_and_skips_broken_ones(tmp_path):
    good = tmp_path / "minilm"
    good.mkdir()
    metrics = {"label_accuracy": 0.9, "micro_f1": 0.66, "macro_f1": 0.6, "macro_ap": 0.65}
    (good / "config.json").write_text(json.dumps({"metrics": {"test": metrics}, "data": {"test_rows": 10},
                                                  "training": {"command": "python -m genre_models.train x"}}))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    table = checkpoints_markdown(tmp_path)
    assert "| minilm | 0.9000 | 0.6600 | 0.6000 | 0.6500 | 10 |" in table.splitlines() and "broken" not in table
    # the command sits in a code block under the table, never in a cell
    assert table.endswith("```bash\n# minilm\npython -m genre_models.train x\n```")
    assert all("genre_models.train" not in line for line in table.splitlines() if line.startswith("|"))
    assert "No trained checkpoints" in checkpoints_markdown(tmp_path / "empty")


def test_evaluation_report_or_a_note(tmp_path):
    text, chart = evaluation_report(tmp_path)
    assert "No evaluation report" in text and chart is None
    (tmp_path / "evaluation.md").write_text("# Evaluation\n![per-genre F1](per_genre_f1.png)\n| a |\n")
    (tmp_path / "per_genre_f1.png").write_bytes(b"png")
    text, chart = evaluation_report(tmp_path)
    assert "| a |" in text and "![per-genre" not in text and chart == tmp_path / "per_genre_f1.png"


def test_the_results_chart_redrawn_for_a_phone_keeps_its_text_readable():
    from genre_models.comparison.results import EVALUATION_DIR, per_genre_f1_narrow
    from genre_models.training.evaluate import Report
    from test_compare import _min_text_px
    fig = per_genre_f1_narrow()
    assert _min_text_px(fig, 350) >= 10
    ax = fig.axes[0]
    series = Report.from_json(EVALUATION_DIR / "evaluation.json").per_genre_f1_series()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(series)  # one entry per distinct row
    assert len(ax.patches) == sum(len(v) for v in series.values())


def test_the_lineup_table_says_which_way_each_model_answers(tmp_path, monkeypatch):
    from genre_models.comparison.results import lineup_markdown
    from genre_models.models.hub import HEADS_ENV
    from genre_models.models.registry import ModelSpec, register_model, unregister_model
    monkeypatch.delenv(HEADS_ENV, raising=False)
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "config.json").write_text("{}")
    specs = [ModelSpec("t-local", "tfidf-text", {}, "Local TF-IDF", checkpoint=str(tmp_path / "local")),
             ModelSpec("t-none", "tfidf-text", {}, "Bare TF-IDF", checkpoint=str(tmp_path / "none")),
             ModelSpec("t-cnn", "timm-image", {"arch": "resnetv2_50x1_bit", "pretrained": "goog_in21k"}, "A CNN",
                       checkpoint=str(tmp_path / "cnn"))]
    for spec in specs:
        register_model(spec)
    try:
        table = lineup_markdown([s.key for s in specs]).splitlines()
        assert f"| Local TF-IDF | `{tmp_path / 'local'}` | nothing until a head is trained |" in table
        assert "| Bare TF-IDF | none | nothing until a head is trained |" in table
        assert "| A CNN | none | zero-shot (ConSE, through its imagenet-21k-goog class names) |" in table
        monkeypatch.setenv(HEADS_ENV, "me/heads")  # only the models without a local head read the repo
        table = lineup_markdown([s.key for s in specs]).splitlines()
        assert f"| Local TF-IDF | `{tmp_path / 'local'}` | nothing until a head is trained |" in table
        assert "| A CNN | `hf-hub:me/heads/t-cnn`, when the repo has it | zero-shot (ConSE, through its " \
               "imagenet-21k-goog class names) |" in table
    finally:
        for spec in specs:
            unregister_model(spec.key)
