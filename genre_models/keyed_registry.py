"""One name -> object table with the checks every GenreLens registry needs (models, families)."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from .errors import ConfigError, GenreLensError

T = TypeVar("T")


class KeyedRegistry(Generic[T]):
    """Names in registration order; an unknown name raises ``unknown(name, valid_names)``.

    Args:
        what: what the entries are, for messages ("model", "family").
        unknown: builds the error for a name that is not registered (it lists the valid names).
    """

    def __init__(self, what: str, unknown: Callable[[str, list[str]], GenreLensError]):
        self.what, self._unknown = what, unknown
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T, overwrite: bool = False) -> T:
        if name in self._entries and not overwrite:
            raise ConfigError(f"{self.what} {name!r} is already registered; pass overwrite=True to replace it")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(list(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        try:
            return self._entries[name]
        except (KeyError, TypeError):  # TypeError: an unhashable "name" from a JSON file
            raise self._unknown(name, self.names()) from None
