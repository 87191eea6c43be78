"""`python -m genre_models.loopback_hub`: the loopback hub, a test server kept in the checkout's
``tests/support/loopback_hub/`` (out of the library); this runs it from there."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

CHECKOUT = Path(__file__).resolve().parent.parent


def main(argv: Sequence[str] | None = None) -> int:
    if not (CHECKOUT / "tests" / "support" / "loopback_hub").is_dir():
        print(f"error: the loopback hub is a test server that lives in a checkout's tests/support/; "
              f"{CHECKOUT} has none (an installed package or a Space): run it from a git checkout",
              file=sys.stderr)
        return 2
    if str(CHECKOUT) not in sys.path:
        sys.path.insert(0, str(CHECKOUT))  # the one place the checkout's tests/ is made importable for a command
    from tests.support.loopback_hub.__main__ import main as hub_main
    return hub_main(argv)


if __name__ == "__main__":
    from .cli import run

    sys.exit(run(main))
