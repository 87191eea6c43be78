"""Model families: one module each, each registering one :class:`ModelFamily` object on import."""
from __future__ import annotations

from ..encoders import PLOT, POSTER, Encoded, Encoder, ImageEncoder, TextEncoder, default_device
from ..registry import Fetch, get_family, list_families, register_family, unregister_family
from . import clip, ensemble, fusion, hf_text, tfidf_text, timm_image  # noqa: F401 - registers the built-in families
from .base import ModelFamily

__all__ = ["PLOT", "POSTER", "Encoded", "Encoder", "Fetch", "ImageEncoder", "ModelFamily", "TextEncoder",
           "default_device", "get_family", "list_families", "register_family", "unregister_family"]
