"""A loopback stand-in for the Hugging Face Hub, for tests and tools (see ``server`` and ``repos``)."""
from .repos import DEFAULT_ROOT, build_repos
from .server import LoopbackHub, write_repo_marker

__all__ = ["DEFAULT_ROOT", "LoopbackHub", "build_repos", "write_repo_marker"]
