"""Every error GenreLens raises on purpose, under one base, so callers catch ``GenreLensError`` once.

Each message is written for the person at the keyboard (what is wrong, what is valid, how to fix
it): the CLIs print it as one line and the app shows it on a card. Anything that is *not* a
``GenreLensError`` is a bug or a library failure; predictors still turn it into a status, but log it
with its traceback.

    GenreLensError
    ├── ConfigError            a model key, family, setting or config file that cannot be used
    │   └── UnknownModelError  (also a KeyError) the message lists the valid keys
    ├── UnknownGenreError      (also a ValueError) the message lists the valid genres
    ├── InvalidInputError      (also a ValueError) a poster that is not an image, a plot that is not text
    │   └── InvalidImageError
    ├── FixableError           a model cannot answer yet: ``summary`` (one line) and ``fix`` (a command)
    │   ├── WeightsUnavailableError  backbone weights not on this machine; says how to get them
    │   └── PlanError          a request the model cannot answer in the asked mode (e.g. no head)
    ├── CheckpointError        a trained head that is missing, malformed, or for another backbone
    ├── DataError              (also a ValueError) a dataset file that cannot be used at all
    └── BuilderError           the dataset builder must stop (bad key, daily limit, service down)
"""
from __future__ import annotations


class GenreLensError(Exception):
    """Base of every deliberate GenreLens error; ``str(exc)`` is a message for users."""


class ConfigError(GenreLensError, ValueError):
    """A model spec, family setting or ``--model-config`` file that cannot be used."""


class UnknownModelError(ConfigError, KeyError):
    """A model key that is not registered; the message lists the valid keys."""

    def __init__(self, key: str, valid: list[str]):
        self.key, self.valid = key, list(valid)
        super().__init__(key)

    def __str__(self) -> str:  # KeyError would print the repr of its argument
        return f"unknown model {self.key!r}. Valid models: {', '.join(self.valid)}"


class UnknownGenreError(GenreLensError, ValueError):
    """Genre names that are neither canonical nor known aliases; the message lists the valid ones."""

    def __init__(self, names, valid, aliases=()):
        self.names = list(names)
        super().__init__(f"unknown genre(s): {', '.join(repr(n) for n in self.names)}. "
                         f"Valid genres: {', '.join(valid)}"
                         + (f" (aliases: {', '.join(sorted(aliases))})." if aliases else "."))


class InvalidInputError(GenreLensError, ValueError):
    """User input that cannot be scored; the message is safe to show."""


class InvalidImageError(InvalidInputError):
    """The poster could not be read as an image."""


class FixableError(GenreLensError):
    """A model that cannot answer until the user does something.

    ``str(exc)`` is the whole story (for the API and logs); ``summary`` is the reason in a few words
    and ``fix`` the one command that fixes it (either may be empty), so a card can say it in one line.
    """

    def __init__(self, message: str, summary: str = "", fix: str = ""):
        super().__init__(message)
        self.summary, self.fix = summary, fix


class WeightsUnavailableError(FixableError):
    """A backbone's weights are not on this machine or failed to load; the message says how to fix it."""


class CheckpointError(GenreLensError, ValueError):
    """A head checkpoint that is missing, malformed or does not fit the model it is loaded into."""


class PlanError(FixableError):
    """The request cannot be answered in the asked mode (no head, unknown genre for the head, ...)."""


class DataError(GenreLensError, ValueError):
    """A films CSV (or another data file) that cannot be used at all."""


class BuilderError(GenreLensError, RuntimeError):
    """The dataset builder must stop the whole run."""
