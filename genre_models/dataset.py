"""`python -m genre_models.dataset build`: see :mod:`genre_models.cli.dataset`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
