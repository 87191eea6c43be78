"""`python -m genre_models.train`: see :mod:`genre_models.cli.train`."""
import sys

from .cli.train import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
