"""Every model family through the same registry, factory and predictor code, on tiny models."""
from __future__ import annotations

import html
import threading

import pytest
import torch

from genre_models import GENRES, ModelPool, Status, create_predictor
from genre_models.commands import command
from genre_models.models.checkpoint import save_checkpoint
from genre_models.models.checkpoint import GenreHead
from genre_models.models.registry import UnknownModelError

PLOT = "a ghost haunted the house and the family fled ."
SINGLE_KEYS = ["tiny-clip-vit", "tiny-clip-rn", "tiny-bert"]


@pytest.mark.parametrize("key", SINGLE_KEYS)
def test_zero_shot_answers_all_genres(tiny_models, poster, key):
    pred = ModelPool().get(key).predict(poster=poster, plot=PLOT)
    assert pred.status is Status.OK, pred.message
    assert pred.mode == "zero-shot"
    assert list(pred.probabilities) == list(GENRES)
    assert all(0.0 <= p <= 1.0 for p in pred.probabilities.values())
    assert pred.predicted == [g for g, p in pred.top(18) if p >= 0.5]
    if key.startswith("tiny-clip"):  # built with pretrained=None: the status says so
        assert "random weights" in pred.message
    assert pred.latency_ms > 0


def test_probabilities_are_independent_not_a_softmax(tiny_models, poster):
    predictor = ModelPool().get("tiny-clip-vit")
    few = predictor.predict(poster=poster, genres=["Horror", "Comedy"])
    more = predictor.predict(poster=poster, genres=["Horror", "Comedy", "heist", "Western"])
    assert few.probabilities["Horror"] == pytest.approx(more.probabilities["Horror"], abs=1e-6)
    assert few.probabilities["Comedy"] == pytest.approx(more.probabilities["Comedy"], abs=1e-6)
    # a multi-label model's probabilities need not sum to one
    assert sum(more.probabilities.values()) != pytest.approx(1.0, abs=1e-3)


def test_custom_genres_are_scored_by_zero_shot_models(tiny_models):
    pred = ModelPool().get("tiny-bert").predict(plot=PLOT, genres=["heist", "space opera"])
    assert pred.ok and list(pred.probabilities) == ["heist", "space opera"]


def test_missing_input_is_reported_not_raised(tiny_models, poster):
    pool = ModelPool()
    no_poster = pool.get("tiny-clip-vit").predict(plot=PLOT)
    assert no_poster.status is Status.MISSING_INPUT and "poster" in no_poster.message
    no_plot = pool.get("tiny-bert").predict(poster=poster, plot="   \n ")
    assert no_plot.status is Status.MISSING_INPUT and "plot" in no_plot.message
    fusion = pool.get("tiny-fusion").predict(poster=poster)
    assert fusion.status is Status.MISSING_INPUT and "plot" in fusion.message


def test_not_an_image_is_invalid_input(tiny_models, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a JPEG")
    pred = ModelPool().get("tiny-clip-rn").predict(poster=bad, plot=PLOT)
    assert pred.status is Status.INVALID_INPUT and "not an image" in pred.message


def test_cnn_without_head_is_unavailable_with_training_hint(tiny_models, poster):
    pred = ModelPool().get("tiny-bit").predict(poster=poster)
    assert pred.status is Status.UNAVAILABLE
    assert command("train", "--models", "tiny-bit", "--data", "movies.csv") in pred.message


def _write_head(spec, dim, genres=GENRES, seed=0):
    torch.manual_seed(seed)
    head = GenreHead(dim, len(genres), kind="mlp", hidden=8)
    return save_checkpoint(spec.checkpoint_dir(), head, list(genres), {g: 0.4 for g in genres},
                           backbone=spec.family_impl.backbone_identity(spec)), head


@pytest.mark.parametrize("key", ["tiny-bit", "tiny-clip-vit", "tiny-bert"])
def test_trained_head_is_used_when_present(tiny_models, poster, key):
    spec = tiny_models[key]
    dim = create_predictor(key).embedding_dim
    _, head = _write_head(spec, dim)
    predictor = ModelPool().get(key)
    pred = predictor.predict(poster=poster, plot=PLOT)
    assert pred.status is Status.OK and pred.mode == "trained"
    assert pred.thresholds == {g: 0.4 for g in GENRES}
    features = predictor.encoder.encode([predictor_input(poster) if spec.needs_poster else PLOT]).features
    with torch.inference_mode():
        expected = torch.sigmoid(head.eval()(features))[0]
    assert [pred.probabilities[g] for g in GENRES] == pytest.approx(expected.tolist(), abs=1e-5)
    # a slider threshold overrides the tuned ones; zero-shot still reachable when the family has it
    assert set(predictor.predict(poster=poster, plot=PLOT, threshold=0.9).thresholds.values()) == {0.9}
    if spec.zero_shot:
        assert predictor.predict(poster=poster, plot=PLOT, mode="zero-shot").mode == "zero-shot"
        # genres the head does not know fall back to zero-shot in auto mode
        assert predictor.predict(poster=poster, plot=PLOT, genres=["heist"]).mode == "zero-shot"
    else:
        unknown = predictor.predict(poster=poster, genres=["heist"])
        assert unknown.status is Status.UNAVAILABLE and "does not know heist" in unknown.message


def predictor_input(path):
    from genre_models.data.inputs import load_poster
    return load_poster(path)


def test_head_for_another_backbone_is_reported(tiny_models, poster):
    spec = tiny_models["tiny-clip-rn"]
    _write_head(spec, dim=999)
    pred = ModelPool().get("tiny-clip-rn").predict(poster=poster, mode="trained")
    assert pred.status is Status.UNAVAILABLE
    assert "999-d" in pred.message and "16-d" in pred.message
    # zero-shot keeps working, and says the head was not loaded
    auto = ModelPool().get("tiny-clip-rn").predict(poster=poster)
    assert auto.ok and "trained head not loaded" in auto.message


def test_late_fusion_is_weighted_mean_of_parts(tiny_models, poster):
    pool = ModelPool()
    image = pool.get("tiny-clip-vit").predict(poster=poster)
    text = pool.get("tiny-bert").predict(plot=PLOT)
    fused = pool.get("tiny-fusion").predict(poster=poster, plot=PLOT)
    assert fused.ok and fused.mode.startswith("late fusion")
    for genre in GENRES:
        assert fused.probabilities[genre] == pytest.approx(
            0.5 * image.probabilities[genre] + 0.5 * text.probabilities[genre], abs=1e-6)
    # the fusion model shares its parts' loaded backbones
    assert pool.get("tiny-fusion").image is pool.get("tiny-clip-vit")


def test_learned_fusion_head(tiny_models, poster):
    pool = ModelPool()
    dim = pool.get("tiny-clip-vit").embedding_dim + pool.get("tiny-bert").embedding_dim
    spec = tiny_models["tiny-fusion"]
    save_checkpoint(spec.checkpoint_dir(), GenreHead(dim, len(GENRES)), list(GENRES),
                    {g: 0.5 for g in GENRES})
    pred = pool.get("tiny-fusion").predict(poster=poster, plot=PLOT)
    assert pred.ok and pred.mode == "trained"


def test_missing_weights_make_one_model_unavailable_others_answer(tiny_models, poster):
    pool = ModelPool()
    results = pool.predict(["clip-vit-b-16", "bit-resnet50", "tiny-bert", "tiny-clip-vit"],
                           poster=poster, plot=PLOT)
    for key in ("clip-vit-b-16", "bit-resnet50"):
        assert results[key].status is Status.UNAVAILABLE
        assert "weights not downloaded" in results[key].message
        assert command("download", "--models", key) in results[key].message
    assert results["tiny-bert"].ok and results["tiny-clip-vit"].ok


def test_progress_says_loading_only_for_models_not_yet_loaded_or_failed(tiny_models, poster):
    """A model whose load failed is settled too: later requests must not announce a 'first' load of it."""
    pool = ModelPool()
    keys = ["clip-vit-b-16", "tiny-bert"]  # offline: CLIP's weights are not downloaded; tiny BERT loads
    announced: list[list[str]] = []
    for _ in range(2):
        calls: list[str] = []
        pool.predict(keys, poster=poster, plot=PLOT, on_load=lambda key, index, total: calls.append(key))
        announced.append(calls)
    assert announced == [keys, []]
    assert pool.get("tiny-bert").settled and pool.get("tiny-bert").loaded
    assert pool.get("clip-vit-b-16").settled and not pool.get("clip-vit-b-16").loaded


def test_unknown_model_lists_valid_keys():
    with pytest.raises(UnknownModelError) as info:
        create_predictor("clip-vit-h-14")
    assert "clip-vit-b-16" in str(info.value) and "minilm" in str(info.value)


def test_batch_matches_single_and_keeps_failures_in_place(tiny_models, poster, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG broken")
    predictor = ModelPool().get("tiny-clip-vit")
    batch = predictor.predict_batch([poster, bad, None], [None, None, None])
    assert [p.status for p in batch] == [Status.OK, Status.INVALID_INPUT, Status.MISSING_INPUT]
    single = predictor.predict(poster=poster)
    assert batch[0].probabilities == pytest.approx(single.probabilities, abs=1e-5)


def test_concurrent_requests_load_the_model_once(tiny_models, poster, monkeypatch):
    from genre_models.models.families.clip import ClipFamily
    calls = []
    real = ClipFamily.load
    monkeypatch.setattr(ClipFamily, "load", lambda *a, **k: calls.append(1) or real(*a, **k))
    predictor = ModelPool().get("tiny-clip-rn")
    results = []
    threads = [threading.Thread(target=lambda: results.append(predictor.predict(poster=poster)))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len(results) == 6 and all(r.ok for r in results)
    assert all(r.probabilities == pytest.approx(results[0].probabilities) for r in results)


def test_pool_predict_reports_unbuildable_keys_and_loading_in_order(tiny_models, poster):
    from genre_models import ModelSpec, register_model
    from genre_models.models.registry import unregister_model
    register_model(ModelSpec("orphan-fusion", "fusion", {"image_model": "tiny-clip-vit", "text_model": "gone"}))
    try:
        pool = ModelPool()
        pool.get("tiny-bert").load()
        loads = []
        results = pool.predict(["orphan-fusion", "tiny-bert", "tiny-clip-vit"], poster=poster, plot=PLOT,
                               on_load=lambda *call: loads.append(call), genres=["Horror", "War"])
        orphan = results["orphan-fusion"]
        assert orphan.model_key == "orphan-fusion" and orphan.status is Status.ERROR
        assert "unknown model 'gone'" in orphan.message and "tiny-bert" in orphan.message
        assert list(results) == ["orphan-fusion", "tiny-bert", "tiny-clip-vit"]  # the others still answer
        assert list(results["tiny-bert"].probabilities) == ["Horror", "War"]  # options reach every model
        assert loads == [("tiny-clip-vit", 2, 3)]  # only the model not loaded yet, with its place in line
    finally:
        unregister_model("orphan-fusion")


def test_a_predictor_with_another_head_folder_reuses_the_loaded_backbone(tiny_models, poster, monkeypatch):
    from genre_models.models.families.clip import ClipFamily
    predictor = ModelPool().get("tiny-clip-vit")
    predictor.load()
    calls = []
    monkeypatch.setattr(ClipFamily, "load", lambda *a, **k: calls.append(1))
    spec = tiny_models["tiny-clip-vit"]
    _write_head(spec, predictor.embedding_dim)
    other = predictor.with_head(spec.checkpoint_dir())
    assert other.encoder is predictor.encoder and other.scorer is predictor.scorer
    assert other.predict(poster=poster).mode == "trained"
    assert predictor.checkpoint is None  # the original keeps its (absent) head
    assert calls == []  # nothing loaded again


def test_a_head_only_model_says_it_has_no_zero_shot(tiny_models, poster):
    spec = tiny_models["tiny-bit"]
    _write_head(spec, create_predictor("tiny-bit").embedding_dim, genres=["Horror", "War"])
    pred = ModelPool().get("tiny-bit").predict(poster=poster, mode="zero-shot")
    assert pred.status is Status.UNAVAILABLE
    assert pred.message == "Tiny BiT has no zero-shot mode; its trained head scores Horror, War"


def test_base_and_finetuned_features_are_cached_apart(tiny_models, tmp_path):
    from safetensors.torch import save_file

    from genre_models.files import file_sha256
    from genre_models.models.checkpoint import update_config
    spec = tiny_models["tiny-bert"]
    plain = ModelPool().get("tiny-bert")
    plain.load()
    assert plain.feature_identity(True) == plain.feature_identity(False)  # no fine-tuned backbone: one cache
    folder, _ = _write_head(spec, plain.embedding_dim)
    state = {"pooler.dense.bias": torch.zeros(plain.embedding_dim)}
    save_file(state, str(folder / "backbone.safetensors"))
    update_config(folder, finetuned_backbone="backbone.safetensors",
                  finetuned_backbone_sha256=file_sha256(folder / "backbone.safetensors"))
    tuned = ModelPool().get("tiny-bert")
    tuned.load()
    assert tuned.trained_encoder is not tuned.encoder
    assert tuned.feature_identity(False) == plain.feature_identity(False)  # zero-shot reads base features
    assert tuned.feature_identity(True) != tuned.feature_identity(False)


def test_cards_say_why_and_the_fix_in_one_line(tiny_models, poster, monkeypatch):
    import html
    from genre_models.comparison.compare import card_markdown, command_html
    from genre_models.models import lineup
    monkeypatch.setitem(lineup.HEAD_TRAINING_COST, "tiny-bit", "4.2 min for 2,000 posters (measured)")
    results = ModelPool().predict(["clip-vit-b-16", "fusion", "tiny-bit"], poster=poster, plot=PLOT)
    shown = html.unescape  # what the browser shows of a card's inert text (compare.as_text)
    cards = {key: shown(card_markdown(pred, key)) for key, pred in results.items()}
    assert cards["clip-vit-b-16"] == ('<b class="gl-unavailable">Not available:</b> weights not downloaded. '
                                      "Fix: " + shown(command_html(command("download", "--models", "clip-vit-b-16"))))
    # fusion names the part it waits for, and that part's command
    assert cards["fusion"] == ('<b class="gl-unavailable">Not available:</b> needs CLIP ViT-L/14: weights not downloaded. '
                               "Fix: " + shown(command_html(command("download", "--models", "clip-vit-l-14"))))
    # a backbone without a head (no zero-shot for a CNN): the training command and what it cost
    assert cards["tiny-bit"] == ('<b class="gl-unavailable">Not available:</b> no trained genre head; training one took 4.2 min for 2,000 '
                                 "posters (measured). Fix: " + shown(command_html(command("train", "--models", "tiny-bit", "--data", "movies.csv"))))
    assert all("\n" not in card for card in cards.values())
    # the API keeps the whole story
    assert "on a machine with internet" in results["clip-vit-b-16"].message
    assert results["tiny-bit"].to_dict()["fix"] == command("train", "--models", "tiny-bit", "--data", "movies.csv")


def test_non_finite_probabilities_are_an_error_not_an_answer(tiny_models, poster):
    import math
    from genre_models.models.checkpoint import save_checkpoint
    from genre_models.models.checkpoint import GenreHead
    pool = ModelPool()
    predictor = pool.get("tiny-bert")
    predictor.load()
    head = GenreHead(predictor.embedding_dim, len(GENRES))
    save_checkpoint(tiny_models["tiny-bert"].checkpoint_dir(), head, list(GENRES), {g: 0.5 for g in GENRES})
    fresh = ModelPool().get("tiny-bert")
    fresh.load()
    with torch.no_grad():  # weights corrupted in memory after the checks at load
        fresh.checkpoint.head.fc.bias[0] = math.nan
    pred = fresh.predict(plot=PLOT, mode="trained")
    assert pred.status is Status.ERROR and "NaN or infinite probabilities" in pred.message
    assert pred.probabilities == {}


# -- issue 26: a model that read nothing says so; the blend leaves it out ------------------------------

UNREAD_PLOTS = ["\U0001F9D9\u200d\u2642\ufe0f\U0001F3F0\u26a1\U0001F40D", "zzqx blorfle wibbledy"]


@pytest.mark.parametrize("plot", UNREAD_PLOTS)
def test_tfidf_that_knows_none_of_the_words_says_so_instead_of_answering_its_prior(plot):
    pool = ModelPool()
    answer = pool.get("tfidf").predict(plot=plot)
    assert answer.status is Status.NOTHING_READ and answer.probabilities == {} and answer.predicted == []
    assert answer.message.startswith("TF-IDF + LR (plot) read nothing of this plot: none of its words is in the "
                                     "vocabulary")
    assert answer.summary == "read none of the plot's words"
    assert pool.get("tfidf").predict(plot="A ghost haunts a house.").status is Status.OK  # a word it knows


def test_the_blend_leaves_out_a_member_that_read_nothing_and_says_so():
    pool = ModelPool()
    plot = UNREAD_PLOTS[1]  # word pieces MiniLM reads, words TF-IDF never saw
    minilm, blend = pool.get("minilm").predict(plot=plot), pool.get("minilm-tfidf").predict(plot=plot)
    assert minilm.ok and blend.ok
    assert blend.probabilities == pytest.approx(minilm.probabilities, abs=1e-6)  # MiniLM alone, not dragged
    assert blend.thresholds == minilm.thresholds and blend.predicted == minilm.predicted
    assert ("TF-IDF + LR (plot) read nothing of this plot (none of its words is in the vocabulary it learned "
            "from its training plots), so it was left out: MiniLM (plot) answered alone") in blend.message
    known = pool.get("minilm-tfidf").predict(plot="A ghost haunts a house and a family must flee.")
    assert known.ok and "left out" not in known.message


def test_a_blend_none_of_whose_members_read_the_plot_names_each_part_and_why():
    answer = ModelPool().get("minilm-tfidf").predict(plot=UNREAD_PLOTS[0])  # emoji: neither reads any
    assert answer.status is Status.NOTHING_READ and answer.model_key == "minilm-tfidf" and answer.probabilities == {}
    assert answer.latency_ms > 0
    assert answer.message == (
        "MiniLM + TF-IDF (plot) read nothing of this plot: its part MiniLM (plot): every token of it is unknown "
        "to the model; its part TF-IDF + LR (plot): none of its words is in the vocabulary it learned from its "
        "training plots; its answer would be the same for any such plot, so it gives none")
    assert answer.summary == "read none of the plot's words"


def test_a_model_that_read_nothing_folds_into_the_notice_with_its_reason():
    from genre_models.comparison.compare import card_markdown, run_comparison, unavailable_notice
    comparison = run_comparison(ModelPool(), ["tfidf", "minilm"], None, UNREAD_PLOTS[1])
    assert list(comparison.answered) == ["minilm"]
    from html import unescape as shown  # what the browser shows of the inert text (compare.as_text)
    assert shown(unavailable_notice(comparison, {"tfidf": "TF-IDF"})) == (
        "**Read nothing it knows (read none of the plot's words):** TF-IDF.")
    assert shown(card_markdown(comparison.predictions["tfidf"], "TF-IDF")).startswith(
        '<b class="gl-unavailable">Read nothing it knows:</b> read none of the plot\'s words.')
    assert comparison.to_dict()["models"]["tfidf"]["status"] == "nothing_read"


def test_a_transformer_that_sees_only_unknown_tokens_read_nothing(tiny_models):
    model = ModelPool().get("tiny-bert")
    answer = model.predict(plot="\u263a\u2603 \u2764")  # none of these is in its word-piece vocabulary
    assert answer.status is Status.NOTHING_READ
    assert "every token of it is unknown to the model" in answer.message
    assert model.predict(plot="\u263a a ghost \u2603").ok  # one word it knows is a reading


def test_word_occlusion_still_scores_the_one_word_tfidf_knows():
    from genre_models.explain import explain_plot
    words = explain_plot(ModelPool().get("tfidf"), "ghost zzqx blorfle", "Horror")
    assert dict(words.words)["ghost"] > 0.3 and dict(words.words)["zzqx"] == 0.0  # without it: nothing read


def test_a_zero_shot_warm_up_that_fails_is_logged_with_its_model_and_traceback_and_warm_up_returns(
        tiny_models, caplog, monkeypatch):
    import logging
    predictor = ModelPool().get("tiny-clip-vit")
    predictor.load()

    def broken(genres):
        raise RuntimeError("prompt embedding broke")

    monkeypatch.setattr(predictor.scorer, "genre_embeddings", broken)
    with caplog.at_level(logging.ERROR):
        predictor.warm_up()  # a background thread's job: it must not raise
    record, = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.getMessage() == "tiny-clip-vit: preparing zero-shot failed"
    assert record.exc_info and "prompt embedding broke" in str(record.exc_info[1])


def test_a_failed_load_answers_the_same_way_every_time_without_retrying(monkeypatch):
    predictor = ModelPool().get("bert-base")  # its weights are not in this machine's cache
    first = predictor.predict(plot=PLOT)
    monkeypatch.setattr(predictor, "_load", lambda: pytest.fail("a failed load is not retried per request"))
    second = predictor.predict(plot=PLOT)
    assert first.status is second.status is Status.UNAVAILABLE and first.summary
    assert (second.message, second.summary, second.fix) == (first.message, first.summary, first.fix)


def test_an_answer_says_whose_it_is_and_that_the_plot_was_cut(tiny_models):
    model = ModelPool().get("tiny-bert")  # reads 24 tokens at most
    missing = model.predict(poster=None, plot=None)
    assert missing.status is Status.MISSING_INPUT and missing.model_key == "tiny-bert"
    long = model.predict(plot=" ".join(["ghost house"] * 40))
    assert long.ok and long.plot_truncated is True and "plot truncated to the model's token limit" in long.message
    assert model.predict(plot="ghost house").plot_truncated is False


def test_a_model_without_weights_says_so_also_when_its_input_is_missing(tiny_models):
    """Issue 35: with no poster, a poster model without weights is not only "needs a poster": the visitor
    learns of the weights before uploading one. A model that loads still only needs the poster."""
    from genre_models.comparison.compare import command_html, run_comparison, unavailable_notice
    comparison = run_comparison(ModelPool(), ["clip-vit-b-16", "bit-resnet50", "tiny-clip-vit", "tiny-bert"],
                                None, PLOT)
    clip = comparison.predictions["clip-vit-b-16"]
    assert clip.status is Status.UNAVAILABLE and clip.summary == "needs a poster, and weights not downloaded"
    assert clip.message.startswith("CLIP ViT-B/16 needs a poster; CLIP ViT-B/16: weights not downloaded")
    fix = clip.fix
    assert fix.endswith("--models clip-vit-b-16")
    notice = unavailable_notice(comparison, {"clip-vit-b-16": "CLIP ViT-B/16", "bit-resnet50": "BiT",
                                             "tiny-clip-vit": "Tiny CLIP ViT"})
    assert html.unescape(notice).split("\n\n") == [
        "**Not available (needs a poster, and weights not downloaded):** CLIP ViT-B/16, BiT. Fix: "
        + html.unescape(command_html(fix.replace("clip-vit-b-16", "clip-vit-b-16 bit-resnet50"))),
        "**Needs more input (needs a poster):** Tiny CLIP ViT."]
    # nothing given at all: the weights are still named (the request's notice says an input is missing)
    alone = run_comparison(ModelPool(), ["clip-vit-b-16"], None, None).predictions["clip-vit-b-16"]
    assert alone.status is Status.UNAVAILABLE and alone.summary.startswith("needs a poster, and weights")
