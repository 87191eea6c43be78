"""`python -m genre_models.dataset build`: see :mod:`genre_models.data.builder.build`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
