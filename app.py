"""GenreLens: compare how a CNN, CLIP models and plot models read a film's genres.

    python app.py                                   # every registered model, http://127.0.0.1:7860
    python app.py --models minilm clip-vit-b-16 --port 8000
    python app.py --model-config my_models.json     # add or re-point models

Layout and wiring only: models, comparison, charts and reports live in ``genre_models``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import Sequence

import gradio as gr
from gradio.data_classes import ImageData as GradioImageData
from gradio.utils import get_upload_folder
from PIL import Image

from genre_models import GENRES, GenreLensError, ModelPool
from genre_models.cli import run as run_command
from genre_models.cli.options import (ExtraModelOptions, HeadsOptions, ModelsOptions, add_options, options_from,
                                      positive_float, positive_int)
from genre_models.comparison.compare import (agreement_markdown, as_text, card_markdown, command_html, comparison_chart,
                                             comparison_chart_narrow, comparison_heatmap, comparison_heatmap_narrow,
                                             headline, run_comparison, threshold_note, unavailable_notice)
from genre_models.comparison.explanations import TOP_GENRE, run_explanations
from genre_models.comparison.results import (checkpoints_markdown, evaluation_report, lineup_markdown,
                                              per_genre_f1_narrow)
from genre_models.comparison.your_films import disagreements_markdown, evaluate_films, film_choices
from genre_models.commands import command
from genre_models.data.film_rows import MAX_EVAL_FILMS
from genre_models.files import disk_full_message, is_disk_full
from genre_models.models import hub
from genre_models.models.extra_models import ACCEPTED, MAX_LOADED, ExtraModels, parse_extra_model
from genre_models.models.hub import HEADS_ENV
from genre_models.models.lineup import EXPLAIN_COST_S, PREDICT_COST_S
from genre_models.models.registry import get_model_spec
from genre_models.native_memory import limit_malloc_arenas
from genre_models.ports import listen_problem
from genre_models.server_limits import ServerLimits, apply_server_limits
from genre_models.session_files import SessionFolders, hide_paths, sweep
from genre_models.zerogpu import GpuBudget, gpu_handler, start_pool

ASSETS = Path(__file__).resolve().parent / "assets"
INTRO = """# GenreLens
Drop a poster, paste a plot, and see how a CNN, three CLIP models, SigLIP 2 and plot models read the
film's genres, side by side (or add a model of your own by its hub id). Each model gives an independent probability per genre (a film can be many
genres at once); a genre is predicted when its probability reaches the model's threshold."""
THESIS_NOTE = """The thesis this demo re-creates reported, on its own IMDb/OMDb data, CLIP ViT-L/14 as the best
poster model (83.2% label accuracy, i.e. Hamming loss 0.1679), BiT-ResNet50 at 77.8%, and the plot
model adding about 5 points. Those are the thesis's figures, not reproduced here: the tables below
hold only what this repository's commands measured. Label accuracy is dominated by negatives
(answering "no genre" scores about 0.86 here), so read it beside F1, AP and the baselines."""
API_HELP = """### API
`/compare` returns every model's probabilities, decisions and status as JSON:
```python
from gradio_client import Client, handle_file
client = Client("http://127.0.0.1:7860/")
result = client.predict(poster=handle_file("poster.jpg"), plot="A family moves into...",
                        models=["minilm", "clip-vit-b-16"], mode="auto", threshold=None,
                        custom_genres="", extra_models=["timm/resnet50.a1_in1k"], api_name="/compare")
result["models"]["minilm"]["predicted"]
```
`extra_models` (default none) adds up to 3 models from the hub by id: `hf-hub:ORG/NAME` (open_clip),
`timm/NAME` (a timm ImageNet classifier, zero-shot through ConSE) or `ORG/NAME` (a transformers text encoder);
each answers under its id.
`/explain` (same inputs, `genre` instead of `threshold`/`custom_genres`; empty = each model's top genre)
returns each plot model's word scores, each poster model's Grad-CAM heatmap and why a model was skipped:
```python
why = client.predict(poster=None, plot="A family moves into...", models=["minilm"], mode="auto",
                     genre="Horror", api_name="/explain")
why["words"]["minilm"]["words"][:5]  # [[word, score], ...]: the genre's probability with it minus without
```"""
FILMS_HELP = """Upload a CSV of films you know the genres of, in the columns the `evaluate` command reads:
`id,title,year,genres,plot,poster` (genres `|`-separated; `poster` a file name inside the zip, for poster models).
Each chosen model scores every film as Compare would, at the thresholds the app uses, beside two trivial
baselines on the same films. A row that cannot be scored is named with its CSV line and skipped; at most
{limit:,} films per file. What you upload here, the unpacked posters and the predictions are deleted when you
close the page (a file another open page sent too, same name and bytes: when the last such page closes), and
by gradio's hourly clean-up once over an hour old.
The same evaluation as JSON: `client.predict(films=handle_file("films.csv"), posters=None, models=["minilm"],
mode="auto", api_name="/evaluate_films")`; on the command line, in the repository's folder: `{evaluate}`."""

THEME = gr.themes.Soft()
# A model that cannot answer (no weights, no head, refused input) folds its card away: the notice
# above the chart names it with the command that fixes it, so the row holds only models that answered.
CSS = """.model-card {border-radius: 12px}
.model-card:has(.gl-unavailable) {display: none}
/* each figure is drawn twice, for a wide screen and for a phone's, so its text stays readable on both */
.gl-narrow {display: none !important}
@media (max-width: 700px) {
  .gl-wide {display: none !important}
  .gl-narrow {display: block !important}
}
/* wide tables scroll inside their own box instead of widening the page or squeezing headers to letters: headers
   and numbers stay on one line, text cells wrap, so a table fits a desktop's width; where it still does not (a
   phone), the box says that it scrolls: a scrollbar, and a shadow on each side where more of the table lies
   (the white covers scroll with the table and hide a shadow once its side is reached: background-attachment) */
.gl-tables table {display: block; overflow-x: auto; max-width: 100%; scrollbar-width: thin;
  scrollbar-color: #9aa0a6 transparent;
  background: linear-gradient(to right, var(--background-fill-primary, #fff) 30%, transparent) left / 40px 100% no-repeat local,
    linear-gradient(to left, var(--background-fill-primary, #fff) 30%, transparent) right / 40px 100% no-repeat local,
    radial-gradient(farthest-side at 0 50%, rgba(0, 0, 0, .28), transparent) left / 14px 100% no-repeat scroll,
    radial-gradient(farthest-side at 100% 50%, rgba(0, 0, 0, .28), transparent) right / 14px 100% no-repeat scroll}
.gl-tables th, .gl-tables td[align] {white-space: nowrap}
.gl-tables td:not([align]) {min-width: 7em}
/* a phone's first screen holds the film, Compare and an example (issue 35): a shorter poster box and intro */
@media (max-width: 700px) {
  #poster {height: 210px !important}
  #intro p {font-size: 0.92em; line-height: 1.35}
}
/* an added-model slot with no model in it */
.model-card:has(.gl-empty) {display: none}
/* the single threshold is greyed out while the tuned ones apply */
#threshold:has(input:disabled) {opacity: 0.45}
/* a command wraps between its words only, never inside a model key such as tiny-bit (compare.command_html) */
.gl-cmd {display: inline !important; white-space: normal !important}
.gl-cmd span {display: inline !important; white-space: nowrap}
.gl-tables pre, .gl-tables pre code {white-space: pre-wrap}"""

# What a ZeroGPU Space asks for per call (genre_models/zerogpu.py): priced from the chosen models
COMPARE_BUDGET = GpuBudget(PREDICT_COST_S)
EXPLAIN_BUDGET = GpuBudget(EXPLAIN_COST_S)
FILMS_BUDGET = GpuBudget({}, allowance=120.0)  # a whole CSV: the most a call may ask for


class GenreLabel(gr.Label):
    """``gr.Label`` whose headline is given, not taken from the top confidence: a card's headline must be
    a genre the model predicts (``compare.headline``), and the most probable genre may be under its
    threshold. Takes {"headline": str, "confidences": {genre: probability}}."""

    is_template = True  # rendered by the frontend's Label component

    def postprocess(self, value):
        if isinstance(value, dict) and "headline" in value:
            data = super().postprocess(value["confidences"])
            if data:
                data.label = value["headline"]
            return data
        return super().postprocess(value)


HANDLE_FILE_HINT = ("poster: send the file itself, wrapped in gradio_client's handle_file: "
                    "client.predict(poster=handle_file(\"poster.png\"), ...); a plain path or URL string (or a "
                    "dict naming a path) is not uploaded, and the server reads no file of its own")


class ImageData(GradioImageData):
    """gradio's image payload, refusing what no upload produced: a bare string (``poster="/path.png"``, the
    common gradio_client slip, which gradio would answer only with "The upstream Gradio app has raised an
    exception") or a dict without gradio's file marker, which would name a file on the server's own disk."""

    @classmethod
    def model_validate(cls, obj, *args, **kwargs):
        # checked here, not in a pydantic validator: pydantic would wrap gr.Error (a ValueError) into its
        # own ValidationError, and gradio would hide that behind its generic sentence again
        if isinstance(obj, str) or (isinstance(obj, dict) and (obj.get("meta") or {}).get("_type") != "gradio.FileData"):
            raise gr.Error(HANDLE_FILE_HINT)
        return super().model_validate(obj, *args, **kwargs)


class PosterImage(gr.Image):
    """``gr.Image`` that passes the uploaded file on even when PIL cannot open it, so GenreLens' own
    loader can tell the user what is wrong instead of a generic error. Use with type="filepath" and
    image_mode=None (the file untouched: GenreLens handles modes, EXIF and alpha itself). A poster that
    was not uploaded (a plain path string from gradio_client) is refused with the ``handle_file`` hint."""

    is_template = True  # as gradio's own templates do: rendered by the frontend's Image component
    data_model = ImageData

    def preprocess(self, payload):
        if (self.type == "filepath" and self.image_mode is None and payload is not None and payload.path
                and not (payload.url or "").startswith("data:")):
            # the file as uploaded, as gradio would return it, without gradio's PIL.Image.open: that tries every
            # format PIL has (an .ico decodes its largest image while opening); inputs.load_poster opens it once
            return str(payload.path)
        try:
            return super().preprocess(payload)
        except Exception:  # not an image: hand over the file, genre_models.data.inputs explains
            return str(payload.path) if payload is not None and payload.path else None


def load_examples() -> tuple[list[list[str]], list[str]]:
    """The examples' (poster, plot) inputs, and their labels: the film's title and year."""
    entries = json.loads((ASSETS / "examples.json").read_text())
    return [[str(ASSETS / e["poster"]), e["plot"]] for e in entries], [e["title"] for e in entries]


EMPTY_SLOT = '<span class="gl-empty"></span>'


def added_card(prediction, key: str, top_k: int, custom: bool) -> list:
    """An added model's label and card: what it is and how it answers zero-shot, then its answer."""
    try:
        what = parse_extra_model(key).description
    except GenreLensError:
        what = "not a model this page can add"
    label = {"headline": headline(prediction), "confidences": dict(prediction.top(top_k))} if prediction.ok else None
    # the id as typed: no backslash escapes (timm/resnet50.a1\_in1k), no link from "www.x" or "[x](http://...)"
    about = f"<small>**Added model** <code>{as_text(key)}</code>: {what}.</small>"
    if not prediction.ok:  # said on the card itself: the visitor asked for this model by name
        # with a command that fixes it, the reason in a few words and the command (the message holds both)
        why = (f"{as_text(prediction.summary)}. Fix: {command_html(prediction.fix)}" if prediction.fix and prediction.summary
               else as_text(prediction.message))
        return [None, f"{about}\n\n**Not added:** {why}"]
    return [label, f"{about}\n\n{card_markdown(prediction, key, top_k, custom_genres=custom)}"]


def build_demo(keys: Sequence[str], pool: ModelPool, max_films: int = MAX_EVAL_FILMS,
               extras: ExtraModels | None = None) -> gr.Blocks:
    """The page: inputs and controls, one card per model, the chart, agreement, your films, results and API tabs.

    ``extras``: the models visitors add by hub id (at most ``MAX_LOADED`` loaded; default limits)."""
    names = {k: get_model_spec(k).name for k in keys}
    extras = extras if extras is not None else ExtraModels()
    # each browser session's uploads (counted), unpacked posters and predictions, gone on unload; inside gradio's
    # upload folder, so gradio serves the predictions from there and keeps no copy of its own
    sessions = SessionFolders(get_upload_folder())
    plot_keys = [k for k in keys if get_model_spec(k).needs_plot and not get_model_spec(k).needs_poster]

    def compare(poster, plot, models, mode, use_tuned, threshold, top_k, custom_genres, added="",
                progress=gr.Progress()):
        def loading(key, index, total):
            progress(index / total, desc=f"Loading {names[key]} (first use only)…")

        chosen = [k for k in keys if k in (models or [])]
        comparison = run_comparison(pool, chosen, poster, plot, mode=mode,
                                    threshold=None if use_tuned else threshold,
                                    custom_genres=custom_genres, on_load=loading, extra_models=added, extras=extras)
        notice = "\n\n".join([f"⚠️ **{as_text(n)}**" for n in comparison.notices]
                              + [unavailable_notice(comparison, names)])
        custom = comparison.genres != list(GENRES)
        updates = []
        for key in keys:
            pred = comparison.predictions.get(key)
            # plain values, no property updates: gradio cannot replay a Label's config change from the
            # examples cache ("'Label' object has no attribute 'info'")
            if pred is None:
                updates += [None, EMPTY_SLOT]  # folded away, as before any Compare
                continue
            label = {"headline": headline(pred), "confidences": dict(pred.top(int(top_k)))} if pred.ok else None
            updates += [label, card_markdown(pred, names[key], int(top_k), custom_genres=custom)]
        added_keys = [k for k in comparison.predictions if k not in keys]
        for slot in range(MAX_LOADED):
            updates += added_card(comparison.predictions[added_keys[slot]], added_keys[slot], int(top_k), custom) \
                if slot < len(added_keys) else [None, EMPTY_SLOT]
        answered = len(comparison.answered) >= 2
        return [notice.strip(), threshold_note(comparison, names), comparison_chart(comparison, names),
                comparison_chart_narrow(comparison, names),
                comparison_heatmap(comparison, names), comparison_heatmap_narrow(comparison, names),
                agreement_markdown(comparison, names) if answered else "", *updates]

    def explain(poster, plot, models, mode, genre):
        """Heatmaps and word scores for the chosen models (the "Explain" view; also the /explain endpoint)."""
        chosen = [k for k in keys if k in (models or [])]
        result = run_explanations(pool, chosen, poster, plot, genre, mode)
        notes = "\n".join(f"- {names.get(k, k)}: not explained ({as_text(why)})" for k, why in result.skipped.items())
        words = [gr.HighlightedText(result.words[k].highlighted(), label=result.word_caption(k, names), visible=True)
                 if k in result.words else gr.HighlightedText(None, visible=False) for k in plot_keys]
        return [notes, gr.Gallery(result.gallery(names), visible=bool(result.heatmaps)), *words]

    def explain_api(poster=None, plot=None, models=None, mode="auto", genre=None):
        """Explain models on one film. Returns {"words": {key: word scores}, "heatmaps": {key: Grad-CAM},
        "skipped": {key: why}}; ``genre`` empty or None explains each model's top genre."""
        if isinstance(models, str):  # one key sent bare instead of in a list
            models = [models]
        chosen = list(dict.fromkeys(models)) if models else list(keys)
        return run_explanations(pool, chosen, poster, plot, genre, mode).to_dict()

    def compare_api(poster=None, plot=None, models=None, mode="auto", threshold=None, custom_genres="",
                    extra_models=None):
        """Compare models on one film. Returns {"models": {key: prediction}, "agreement": ..., "genres": [...]}.

        Only a poster and/or a plot are needed: every other parameter defaults to the app's own setting
        (all models, auto mode, each model's tuned thresholds, the 18 genres, no added model). gradio marks a
        parameter optional when its component has a value or the parameter defaults to None.
        """
        # the models dropdown already refuses keys outside the lineup, naming the valid ones; an unknown
        # mode comes back on every model as an invalid_input status naming the valid ones
        if isinstance(models, str):  # one key sent bare instead of in a list
            models = [models]
        chosen = list(dict.fromkeys(models)) if models else list(keys)
        return run_comparison(pool, chosen, poster, plot, mode=mode, threshold=threshold,
                              custom_genres=custom_genres, extra_models=extra_models, extras=extras).to_dict()

    def evaluate_films_ui(films, posters, models, request: gr.Request, progress=gr.Progress()):
        def done(key, films_done, total):
            progress(films_done / max(total, 1), desc=f"{names.get(key, key)}: {films_done}/{total} films")

        session = request.session_hash if request is not None else None
        folder = sessions.fresh(session)
        sessions.claim(session, films, posters)  # held until this page closes, whoever else uploaded the same bytes
        chosen = [k for k in keys if k in (models or [])]
        try:
            if films is None:
                raise GenreLensError("upload a films CSV first")
            for upload, what in ((films, "films CSV"), (posters, "posters zip")):
                if upload is not None and not Path(upload).is_file():
                    raise GenreLensError(f"the {what} '{Path(upload).name}' is no longer on the server (an upload "
                                         "is kept at least an hour): upload it again")
            result = evaluate_films(pool, chosen, films, posters, max_films=max_films, workdir=folder,
                                    on_progress=done)
        except GenreLensError as exc:
            return [f"⚠️ **{as_text(private(str(exc)))}**", "", None, None, "", gr.Dropdown(choices=[], value=None),
                    None, {}]
        notes = [f"- {as_text(private(line))}" for line in result.skipped + result.notes]
        disagreements = result.disagreements()
        return ["\n".join(notes), result.table_markdown(), result.chart(), result.chart(narrow=True),
                disagreements_markdown(disagreements, names),
                gr.Dropdown(choices=list(film_choices(disagreements)), value=None),
                str(result.write_predictions(folder / "predictions.csv")), film_choices(disagreements)]

    def open_in_compare(choice, films):
        film = (films or {}).get(choice)
        if film is None:
            return gr.skip(), gr.skip(), gr.skip()
        return film["poster"], film["plot"], gr.Tabs(selected="compare")

    def claim_upload(upload, request: gr.Request):
        """Count the page among an upload's holders as soon as it arrives (gradio keeps one path for the same
        bytes from every visitor): another page closing never deletes it from under this one."""
        sessions.claim(request.session_hash, upload)

    def forget_session(request: gr.Request):
        """The page was closed: its unpacked posters and predictions go at once, and each upload no open page
        holds."""
        sessions.remove(request.session_hash)

    def private(message: str) -> str:
        """A message without the server's folders: a file is named by its name (the upload's, the zip member's)."""
        return hide_paths(message, sessions.base, get_upload_folder())

    def evaluate_films_api(films, posters=None, models=None, mode="auto"):
        """Evaluate models on a films CSV (and optionally a zip of its posters). Returns {"films": n,
        "table": [one row per model and baseline: every metric], "per_genre_f1": ..., "skipped": [...],
        "notes": [...], "disagreements": [...]}, the numbers `python -m genre_models.evaluate --all-films` gives."""
        if isinstance(models, str):
            models = [models]
        chosen = list(dict.fromkeys(models)) if models else list(keys)
        if films is None:
            raise gr.Error("upload a films CSV (films=handle_file(path))")
        try:  # a folder for the unpacked zip, removed on return (and swept if the app is killed meanwhile)
            with sessions.for_request() as folder:
                return evaluate_films(pool, chosen, films, posters, mode or "auto", max_films, workdir=folder).to_dict()
        except GenreLensError as exc:
            raise gr.Error(private(str(exc))) from None

    # every handler that runs a model asks ZeroGPU for a GPU, for as long as its models cost (elsewhere: as is)
    compare, compare_api = (gpu_handler(f, COMPARE_BUDGET, keys) for f in (compare, compare_api))
    explain, explain_api = (gpu_handler(f, EXPLAIN_BUDGET, keys) for f in (explain, explain_api))
    evaluate_films_ui, evaluate_films_api = (gpu_handler(f, FILMS_BUDGET, keys)
                                             for f in (evaluate_films_ui, evaluate_films_api))

    # uploads are gradio temp files: those older than an hour go every hour (and all at restart)
    with gr.Blocks(title="GenreLens", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        with gr.Tabs(selected="compare") as tabs:  # ids, so "Open in Compare" can switch to Compare
            with gr.Tab("Compare", id="compare"):
                with gr.Row() as inputs_row:
                    # the film, Compare and (below, once the outputs exist) the examples: a phone stacks this
                    # column first, so its first screen holds an example and the button (issue 35)
                    with gr.Column(scale=2) as film_column:
                        poster = PosterImage(label="Poster", type="filepath", image_mode=None, height=360,
                                             sources=["upload", "clipboard"], elem_id="poster")
                        plot = gr.Textbox(label="Plot", lines=5, placeholder="Paste the film's plot…",
                                          elem_id="plot")
                        button = gr.Button("Compare", variant="primary", elem_id="compare")
                    with gr.Column(scale=1):
                        models = gr.CheckboxGroup([(names[k], k) for k in keys], value=list(keys),
                                                  label="Models", elem_id="models")
                        mode = gr.Radio([("Auto: trained head where there is one", "auto"),
                                         ("Trained head only", "trained"), ("Zero-shot only", "zero-shot")],
                                        value="auto", label="Mode")
                        use_tuned = gr.Checkbox(value=True, label="Use each model's tuned thresholds")
                        # greyed out while the tuned thresholds apply: it would have no effect
                        threshold = gr.Slider(0.05, 0.95, value=0.5, step=0.05, label="One threshold for every genre",
                                              interactive=False, elem_id="threshold")
                        top_k = gr.Slider(1, 18, value=5, step=1, label="Top genres shown per model")
                        custom = gr.Textbox(label="Custom genres (zero-shot models)",
                                            placeholder="heist, mockumentary, space opera")
                        with gr.Row():
                            added = gr.Textbox(label=f"Add models from the hub (up to {MAX_LOADED} ids, comma-separated)",
                                               placeholder="timm/resnet50.a1_in1k", info=ACCEPTED,
                                               elem_id="extra-models", scale=3)
                            add_button = gr.Button("Add", elem_id="add-model", scale=1, min_width=60)
                notice = gr.Markdown(elem_id="notice", elem_classes="gl-notice")
                note = gr.Markdown(elem_id="threshold-note")  # how the models decided, once they have
                with gr.Tabs():
                    with gr.Tab("Bars"):
                        chart = gr.Plot(label="Every model's probability per genre", show_label=False, elem_id="chart",
                                        elem_classes="gl-wide")
                        chart_narrow = gr.Plot(show_label=False, elem_id="chart-narrow", elem_classes="gl-narrow")
                    with gr.Tab("Heatmap"):
                        heatmap = gr.Plot(label="Models × genres", show_label=False, elem_id="heatmap",
                                          elem_classes="gl-wide")
                        heatmap_narrow = gr.Plot(show_label=False, elem_id="heatmap-narrow", elem_classes="gl-narrow")
                agreement = gr.Markdown(elem_id="agreement")
                cards = []
                with gr.Row(equal_height=True):  # answering models side by side, cards of one height
                    for key in keys:
                        with gr.Column(min_width=220, elem_classes="model-card"):
                            cards.append(GenreLabel(label=names[key], num_top_classes=18, elem_id=f"label-{key}",
                                                    elem_classes="gl-label"))
                            # folded away until it answers: ten empty cards would push the examples off a phone's screen
                            cards.append(gr.Markdown(EMPTY_SLOT, elem_id=f"card-{key}"))
                    for slot in range(MAX_LOADED):  # models a visitor adds by hub id, beside the lineup
                        with gr.Column(min_width=220, elem_classes="model-card"):
                            cards.append(GenreLabel(label=f"Added model {slot + 1}", num_top_classes=18,
                                                    elem_id=f"label-added-{slot}", elem_classes="gl-label"))
                            cards.append(gr.Markdown(EMPTY_SLOT, elem_id=f"card-added-{slot}"))
                inputs = [poster, plot, models, mode, use_tuned, threshold, top_k, custom, added]
                outputs = [notice, note, chart, chart_narrow, heatmap, heatmap_narrow, agreement, *cards]
                # progress shows on the figures only: over the text it would hide the answer being read
                button.click(compare, inputs, outputs, api_name="compare_ui", api_visibility="private",
                             show_progress_on=[chart, chart_narrow])
                # adding a model compares with it at once; named, or gradio would take "compare" from the function
                for trigger, name in ((add_button.click, "add_model_ui"), (added.submit, "add_model_submit_ui")):
                    trigger(compare, inputs, outputs, api_name=name, api_visibility="private",
                            show_progress_on=[chart, chart_narrow])
                use_tuned.change(lambda tuned: gr.Slider(interactive=not tuned), use_tuned, threshold,
                                 api_visibility="private", show_progress="hidden")
                with gr.Accordion("Why? Heatmaps on the poster, highlighted words in the plot", open=False):
                    gr.Markdown("Grad-CAM (pytorch-grad-cam) on each poster model's score for the genre; for the "
                                "plot models, each word removed in turn, shaded by how much it raises (or lowers) "
                                "the genre's probability. It costs a backward pass or one pass per word, so it "
                                "runs only when asked.")
                    with gr.Row():
                        explain_genre = gr.Dropdown([TOP_GENRE, *GENRES], value=TOP_GENRE, label="Genre to explain")
                        explain_button = gr.Button("Explain", elem_id="explain")
                    explain_notes = gr.Markdown(elem_id="explain-notes")
                    # gradio shades a positive score red and a negative one purple (its HighlightedText colours)
                    gr.Markdown("Words: <span style='background:rgba(239,68,60,.6);padding:0 .3em'>red</span> raises the "
                                "genre's probability (without the word it falls), "
                                "<span style='background:rgba(128,90,213,.6);padding:0 .3em'>purple</span> lowers it; the "
                                "deeper the shade, the larger the change. Unshaded: no effect, or past what the model "
                                "reads. Posters: the warmer the colour, the more that region raises the genre.",
                                elem_id="explain-legend")
                    # shown once Explain has something to put in them
                    heatmaps = gr.Gallery(label="Where each poster model looks", columns=4, height="auto",
                                          elem_id="heatmaps", visible=False)
                    highlights = [gr.HighlightedText(label=names[k], combine_adjacent=False, show_legend=False,
                                                     color_map=None, elem_id=f"words-{k}", visible=False)
                                  for k in plot_keys]
                explain_button.click(explain, [poster, plot, models, mode, explain_genre],
                                     [explain_notes, heatmaps, *highlights], api_name="explain_ui",
                                     api_visibility="private")
                examples, example_titles = load_examples()
                with film_column:  # back into the film's column, under Compare (gradio appends to it)
                    gr.Examples(examples, [poster, plot], outputs, example_labels=example_titles,
                                fn=lambda p, t: compare(p, t, list(keys), "auto", True, 0.5, 5, "", ""),
                                cache_examples=True, cache_mode="lazy", label="Public-domain examples",
                                elem_id="examples")
                film_column.parent = inputs_row  # entering a block again made the tab its parent
                with gr.Accordion("API", open=False):
                    gr.Markdown(API_HELP)
                    with gr.Column(visible=False):  # the /compare endpoint's own inputs, never shown
                        # the labels are the keyword names clients use
                        api_inputs = [PosterImage(type="filepath", image_mode=None, label="poster"), gr.Textbox(label="plot"),
                                      gr.Dropdown(list(keys), multiselect=True, label="models"),
                                      gr.Textbox(value="auto", label="mode"), gr.Number(value=None, label="threshold"),
                                      gr.Textbox(value="", label="custom_genres"),
                                      gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True,
                                                  label="extra_models")]
                        api_out = gr.JSON(label="comparison")
                        api_button = gr.Button()
                    api_button.click(compare_api, api_inputs, api_out, api_name="compare")
                    with gr.Column(visible=False):  # the /explain endpoint's own inputs
                        explain_inputs = [PosterImage(type="filepath", image_mode=None, label="poster"),
                                          gr.Textbox(label="plot"),
                                          gr.Dropdown(list(keys), multiselect=True, label="models"),
                                          gr.Textbox(value="auto", label="mode"), gr.Textbox(value="", label="genre")]
                        explain_out = gr.JSON(label="explanations")
                        explain_api_button = gr.Button()
                    explain_api_button.click(explain_api, explain_inputs, explain_out, api_name="explain")
            with gr.Tab("Your films", id="films"):
                gr.Markdown(FILMS_HELP.format(limit=max_films, evaluate=command(
                    "evaluate", "--all-films", "--data", "films.csv", "--posters", "posters.zip", "--models", "minilm")))
                with gr.Row():
                    films_csv = gr.File(label="Films CSV", file_types=[".csv"], elem_id="films-csv")
                    films_zip = gr.File(label="Posters (zip, optional)", file_types=[".zip"], elem_id="films-zip")
                    with gr.Column():
                        films_models = gr.CheckboxGroup([(names[k], k) for k in keys], value=plot_keys or list(keys),
                                                        label="Models", elem_id="films-models")
                        films_button = gr.Button("Evaluate", variant="primary", elem_id="evaluate")
                films_notice = gr.Markdown(elem_id="films-notice")
                films_table = gr.Markdown(elem_id="films-table", elem_classes="gl-tables")
                films_chart = gr.Plot(show_label=False, elem_id="films-chart", elem_classes="gl-wide")
                films_chart_narrow = gr.Plot(show_label=False, elem_id="films-chart-narrow", elem_classes="gl-narrow")
                films_disagreement = gr.Markdown(elem_id="films-disagreement")
                with gr.Row():
                    films_pick = gr.Dropdown([], label="Open a film in Compare", elem_id="films-pick")
                    films_open = gr.Button("Open in Compare", elem_id="films-open")
                films_download = gr.File(label="Every prediction (CSV)", interactive=False, elem_id="films-download")
                films_state = gr.State({})
                films_button.click(evaluate_films_ui, [films_csv, films_zip, films_models],
                                   [films_notice, films_table, films_chart, films_chart_narrow, films_disagreement,
                                    films_pick, films_download, films_state],
                                   api_name="evaluate_films_ui", api_visibility="private",
                                   show_progress_on=[films_chart, films_chart_narrow])  # a large box, empty until done
                films_open.click(open_in_compare, [films_pick, films_state], [poster, plot, tabs],
                                 api_visibility="private")
                for upload in (films_csv, films_zip):  # not queued: counted before another page can close
                    upload.upload(claim_upload, upload, None, queue=False, api_visibility="private")
                with gr.Column(visible=False):  # the /evaluate_films endpoint's own inputs
                    films_api_inputs = [gr.File(label="films"), gr.File(label="posters"),
                                        gr.Dropdown(list(keys), multiselect=True, label="models"),
                                        gr.Textbox(value="auto", label="mode")]
                    films_api_out = gr.JSON(label="evaluation")
                    films_api_button = gr.Button()
                films_api_button.click(evaluate_films_api, films_api_inputs, films_api_out, api_name="evaluate_films")
            with gr.Tab("Results", id="results"):
                report, chart_path = evaluation_report()
                gr.Markdown(THESIS_NOTE + "\n\n## How each model answers here\n\n" + lineup_markdown(list(keys))
                            + "\n\n## Shipped checkpoints\n\n" + checkpoints_markdown(),
                            elem_classes="gl-tables")
                if chart_path is not None:
                    gr.Image(Image.open(chart_path), label="Per-genre F1", show_label=False, interactive=False,
                             elem_classes="gl-wide", elem_id="results-chart")
                    gr.Plot(per_genre_f1_narrow(), show_label=False, elem_classes="gl-narrow", elem_id="results-chart-narrow")
                gr.Markdown(report, elem_classes="gl-tables")
        demo.unload(forget_session)
    return say_disk_full(demo)


def say_disk_full(demo: gr.Blocks) -> gr.Blocks:
    """Every event of ``demo`` says a full disk (ENOSPC, EDQUOT) as such in one line, whether our handler or
    gradio's own file handling around it met it: gradio shows any exception but ``gr.Error`` as a bare
    "Error". ``process_api`` is where gradio runs an event's preprocessing, function and postprocessing."""
    process_api = demo.process_api

    async def said(*args, **kwargs):
        try:
            return await process_api(*args, **kwargs)
        except Exception as exc:
            if not is_disk_full(exc):
                raise
            raise gr.Error(disk_full_message(exc, "the server's disk")) from None

    demo.process_api = said
    return demo


def _port(text: str) -> int:
    value = positive_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, got {text}")
    return value


def _file_size(text: str) -> str:
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(b|kb|mb|gb)\s*", text, re.IGNORECASE):
        raise argparse.ArgumentTypeError(f"a size such as 10mb, 500kb or 1gb, got {text!r}")
    return text.strip().lower()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="GenreLens web demo")
    add_options(p, ModelsOptions)  # the lineup
    add_options(p, HeadsOptions)
    # None lets gradio read GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, the variables a host such as
    # Hugging Face Spaces uses to say where to listen; without them gradio's 127.0.0.1:7860
    p.add_argument("--host", help='address to listen on ("0.0.0.0" for a network); default: '
                   "$GRADIO_SERVER_NAME, else 127.0.0.1")
    p.add_argument("--port", type=_port, help="default: $GRADIO_SERVER_PORT, else 7860")
    p.add_argument("--share", action="store_true", help="public Gradio share link (off by default)")
    p.add_argument("--concurrency", type=positive_int, default=2, help="requests computed at once")
    p.add_argument("--max-queue", type=positive_int, default=32, help="requests waiting at most")
    p.add_argument("--max-file-size", type=_file_size, default="10mb", help="largest upload (e.g. 10mb)")
    p.add_argument("--no-preload", action="store_true", help="load models on first use only")
    add_options(p, ExtraModelOptions, only=["max_extra_model_gb"])
    p.add_argument("--max-eval-films", type=positive_int, default=MAX_EVAL_FILMS,
                   help="Your films: refuse a CSV with more rows than this")
    p.add_argument("--max-connections", type=positive_int, default=ServerLimits.max_connections,
                   help="open connections at most (default %(default)s); see the README")
    p.add_argument("--header-timeout", type=positive_float, default=ServerLimits.header_timeout_s, metavar="SECONDS",
                   help="close a connection that has not sent a request's headers within this (default %(default)s)")
    return p


def examples_cache(keys: Sequence[str]) -> Path:
    """Where the examples' answers are cached: a user cache folder (the project may be read-only),
    one per project copy and lineup, so one lineup's cached answers never show for another's."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genrelens" / "examples"
    # the heads repo changes the answers as much as the lineup does; this file, what the page does with them
    # (an answer cached for another set of outputs would no longer fit the page)
    page = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    digest = hashlib.sha256(json.dumps([str(ASSETS.parent), list(keys), os.environ.get(HEADS_ENV, ""), page])
                            .encode()).hexdigest()[:12]
    return base / digest


def preload(pool: ModelPool, keys: Sequence[str]) -> None:
    """Load the lineup in the background after the page is up; failures are reported on the cards."""
    def run():
        for key in keys:
            try:
                pool.get(key).warm_up()
            except GenreLensError:  # load() turns every failure into one (logged); the card says why
                pass
    threading.Thread(target=run, daemon=True, name="preload-models").start()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page until Ctrl+C or SIGTERM (a Space, ``docker stop`` or a service manager stopping it): both
    close the server, and the session folders go at exit. Returns the exit code."""
    return run_command(lambda: _serve(argv))


def _serve(argv: Sequence[str] | None) -> int:
    limit_malloc_arenas()  # before the server's threads: the page's charts would grow one heap per thread
    args = build_parser().parse_args(argv)
    try:
        options_from(args, HeadsOptions).apply()
        keys = options_from(args, ModelsOptions).keys()
    except GenreLensError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = listen_problem(args.host, args.port)  # at once, not after the lineup and page are built
    if problem:
        print(f"error: {problem}. Choose another --port (or --host).", file=sys.stderr)
        return 2
    hub.ensure_hub_mode()
    swept = sweep(get_upload_folder())  # before this app's own folders exist
    if swept:
        print(f"removed the session folders of {len(swept)} GenreLens app(s) stopped without cleaning up")
    # gradio keeps what visitors send in a folder of this app's own, locked as the session folders are: two apps
    # never share an upload, and what an app killed outright leaves goes at the next start's sweep
    os.environ["GRADIO_TEMP_DIR"] = str(SessionFolders(get_upload_folder()).root)
    os.environ.setdefault("GRADIO_EXAMPLES_CACHE", str(examples_cache(keys)))
    # on ZeroGPU the lineup is on cuda before the page is up; elsewhere it loads in the background
    pool = start_pool(keys, None if args.no_preload else preload)
    demo = build_demo(keys, pool, args.max_eval_films, ExtraModels(max_gb=args.max_extra_model_gb))
    demo.queue(default_concurrency_limit=args.concurrency, max_size=args.max_queue)
    apply_server_limits(ServerLimits(args.header_timeout, args.max_connections))  # gradio's uvicorn has none
    try:
        demo.launch(server_name=args.host, server_port=args.port, share=args.share,
                    max_file_size=args.max_file_size, allowed_paths=[str(ASSETS)],
                    theme=THEME, css=CSS)
    except OSError as exc:  # taken between the check above and now
        print(f"error: cannot listen there ({str(exc).split('. ')[0].rstrip('.')}). Choose another --port "
              "(or --host).", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
