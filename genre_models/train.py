"""`python -m genre_models.train`: see :mod:`genre_models.cli.train`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
