"""`python -m genre_models.predict`: see :mod:`genre_models.cli.predict`."""
import sys

from .cli.predict import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
