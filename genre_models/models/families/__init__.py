"""Model families: one module each, each registering one :class:`ModelFamily` object on import."""
from __future__ import annotations

from . import clip, ensemble, fusion, hf_text, tfidf_text, timm_image  # noqa: F401 - registers the built-in families
from .base import (PLOT, POSTER, Encoded, Encoder, Fetch, ImageEncoder, ModelFamily, TextEncoder,
                   default_device, get_family, list_families, register_family, unregister_family)

__all__ = ["PLOT", "POSTER", "Encoded", "Encoder", "Fetch", "ImageEncoder", "ModelFamily", "TextEncoder",
           "default_device", "get_family", "list_families", "register_family", "unregister_family"]
