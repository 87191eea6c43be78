"""`python -m genre_models.reproduce`: see :mod:`genre_models.cli.reproduce`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
