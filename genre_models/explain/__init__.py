"""Why a model predicts a genre: word scores for plot models (and, in time, heatmaps for poster models)."""
from .plot_words import WordAttribution, explain_plot

__all__ = ["WordAttribution", "explain_plot"]
