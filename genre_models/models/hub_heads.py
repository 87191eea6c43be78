"""Trained heads from a hub repo, fetched as backbones are: ``hf-hub:OWNER/REPO[/SUBFOLDER]``.

Someone with the weights and the posters runs ``reproduce --out DIR`` once and uploads ``DIR``
(``hf upload OWNER/REPO DIR``); every Space and laptop then reads ``REPO/<model key>/``. Two ways to
point a model there:

- its spec's ``checkpoint`` is ``hf-hub:OWNER/REPO/SUBFOLDER`` (a ``--model-config`` entry), or
- ``GENRELENS_HEADS=OWNER/REPO`` (``--heads OWNER/REPO`` on the app and the CLIs): every model with
  no trained model in its local checkpoint folder reads ``REPO/<its key>/``.

The folder comes through ``huggingface_hub.snapshot_download`` into the Hugging Face cache, under the
same offline rules as backbones (cache only when the hub is out of reach); the files are then read
exactly as a local checkpoint folder is, so their sha256 is checked against ``config.json`` there. A
repo without the model's subfolder means "no trained head" for that model, not an error.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CheckpointError, ConfigError
from . import hub
from .checkpoint import has_config

HUB_PREFIX = "hf-hub:"
HEADS_ENV = "GENRELENS_HEADS"
# a hub repo id: owner/name of letters, digits, '-', '_', '.' (huggingface_hub's own rule, short form)
_REPO = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
_SUBFOLDER = re.compile(r"[\w.-]+(/[\w.-]+)*")


@dataclass(frozen=True)
class HubFolder:
    """A folder of a model repo on the hub: where one trained model's files are."""

    repo: str
    subfolder: str

    def __str__(self) -> str:
        return f"{HUB_PREFIX}{self.repo}/{self.subfolder}"


def is_hub_source(value: object) -> bool:
    return isinstance(value, str) and value.startswith(HUB_PREFIX)


def check_repo_id(repo: str, what: str = "heads repo") -> str:
    """``repo`` if it is ``OWNER/NAME``; else ConfigError naming the form."""
    if not isinstance(repo, str) or not _REPO.fullmatch(repo) or ".." in repo:
        raise ConfigError(f"{what} {repo!r} is not a hub repo id: expected OWNER/NAME (e.g. genrelens/heads)")
    return repo


def parse_hub_folder(value: str, key: str) -> HubFolder:
    """``hf-hub:OWNER/REPO[/SUBFOLDER]`` -> HubFolder; the subfolder defaults to the model's key.

    Raises:
        ConfigError: not of that form (a path escaping the repo, an empty owner, ...).
    """
    rest = value[len(HUB_PREFIX):].strip("/")
    owner, _, tail = rest.partition("/")
    name, _, subfolder = tail.partition("/")
    subfolder = subfolder or key
    if not _SUBFOLDER.fullmatch(subfolder) or any(part in (".", "..") for part in subfolder.split("/")):
        raise ConfigError(f"model {key!r}: checkpoint {value!r} must be hf-hub:OWNER/REPO[/SUBFOLDER]")
    return HubFolder(check_repo_id(f"{owner}/{name}", f"model {key!r}: checkpoint {value!r} names repo"), subfolder)


def heads_repo() -> str | None:
    """The repo ``GENRELENS_HEADS`` names (checked), or None."""
    repo = os.environ.get(HEADS_ENV, "").strip()
    return check_repo_id(repo, HEADS_ENV) if repo else None


def use_heads_repo(repo: str | None) -> None:
    """``--heads``: point this process (and the processes it starts) at ``repo``; None keeps
    ``GENRELENS_HEADS`` as it is, checked here so a bad value stops a command at once.

    Raises ConfigError for a repo id that is not OWNER/NAME.
    """
    if repo:
        os.environ[HEADS_ENV] = check_repo_id(repo.strip(), "--heads")
    heads_repo()


def fetch_folder(folder: HubFolder) -> Path | None:
    """The local copy of ``folder`` (downloaded into the HF cache when the hub is reachable), or None
    when the repo has no trained model there.

    Raises:
        CheckpointError: one line: offline and never downloaded, no such repo, or the hub failed.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError
    offline = not hub.hub_reachable()
    try:
        root = snapshot_download(folder.repo, allow_patterns=[f"{folder.subfolder}/*"], local_files_only=offline)
    except RepositoryNotFoundError:
        raise CheckpointError(f"no heads repo {folder.repo} on {hub.hf_constants.ENDPOINT}") from None
    except LocalEntryNotFoundError:  # includes an incomplete snapshot
        raise CheckpointError(f"{folder} is not downloaded and the hub cannot be reached; fetch it with "
                              f"`python -m genre_models.download --heads {folder.repo}` on a machine with "
                              "internet") from None
    except (HfHubHTTPError, OSError) as exc:
        raise CheckpointError(f"{folder} could not be fetched: {str(exc).splitlines()[0] if str(exc) else exc!r}") \
            from None
    local = Path(root) / folder.subfolder
    return local if has_config(local) else None
