"""`python -m genre_models.dataset build`: see :mod:`genre_models.data.builder.build`."""
import sys

from .data.builder.build import main

if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
