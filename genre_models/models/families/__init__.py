"""Model families: one module each, each registering one :class:`ModelFamily` object on import."""
from __future__ import annotations

from ..registry import PLOT, POSTER, Fetch, get_family, list_families, register_family, unregister_family
from . import clip, ensemble, fusion, hf_text, tfidf, timm_image  # noqa: F401 - registers the built-in families
from .base import Encoded, Encoder, ImageEncoder, ModelFamily, TextEncoder, default_device

__all__ = ["PLOT", "POSTER", "Encoded", "Encoder", "Fetch", "ImageEncoder", "ModelFamily", "TextEncoder",
           "default_device", "get_family", "list_families", "register_family", "unregister_family"]
