"""`python -m genre_models.reproduce`: see :mod:`genre_models.cli.reproduce`."""
import sys

from .cli.reproduce import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
