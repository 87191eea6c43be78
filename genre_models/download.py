"""`python -m genre_models.download`: see :mod:`genre_models.cli.download`."""
from .__main__ import command_module

main = command_module(__name__, __spec__)
