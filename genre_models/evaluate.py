"""`python -m genre_models.evaluate`: see :mod:`genre_models.cli.evaluate`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
