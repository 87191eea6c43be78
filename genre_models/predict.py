"""`python -m genre_models.predict`: see :mod:`genre_models.cli.predict`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
