"""`python -m genre_models.evaluate`: see :mod:`genre_models.cli.evaluate`."""
import sys

from .cli.evaluate import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
