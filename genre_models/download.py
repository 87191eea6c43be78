"""`python -m genre_models.download`: see :mod:`genre_models.cli.download`."""
import sys

from .cli.download import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
