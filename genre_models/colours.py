"""The charts' colours, kept apart from ``charts.py`` (matplotlib) so that naming a model's colour
(``models/lineup.py``) costs no import of a plotting library.

Okabe–Ito first, then Paul Tol's "muted" scheme (https://personal.sron.nl/~pault/): both stay
distinguishable with the common colour-vision deficiencies.
"""
from __future__ import annotations

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TOL_MUTED = ("#332288", "#882255", "#44AA99", "#999933", "#AA4499", "#117733", "#CC6677", "#DDCC77", "#88CCEE")
BASELINE_COLOUR = "#8C8C8C"  # a baseline is a bar to clear, not a model: grey, apart from every model's colour
