"""Why a model predicts a genre: word scores for plot models, Grad-CAM heatmaps for poster models."""
from .plot_words import WordAttribution, explain_plot
from .poster_heatmap import PosterHeatmap, explain_poster

__all__ = ["PosterHeatmap", "WordAttribution", "explain_plot", "explain_poster"]
