"""pipir: universal image restoration with Prompt-In-Prompt learning.

The names below load on first use (PEP 562), so that ``import pipir`` does not import torch: the
``pipir`` command tunes the process's memory settings before torch starts (``pipir.launch``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_WHERE = {
    "load_weights": "pipir.checkpoints",
    "PipirError": "pipir.errors",
    "Restored": "pipir.infer",
    "Restorer": "pipir.infer",
    "load": "pipir.hub",
    "restore": "pipir.hub",
    "TASKS": "pipir.models",
    "PIPBlock": "pipir.models",
    "create_model": "pipir.models",
    "task_weights": "pipir.models",
}
# Subpackages reachable as attributes (``pipir.degrade.apply``), imported on first use too.
_SUBMODULES = ("data", "degrade", "evaluate", "io", "metrics", "models", "train")
__all__ = list(_WHERE)

if TYPE_CHECKING:  # what type checkers and editors see (``X as X``: a re-export)
    from pipir.checkpoints import load_weights as load_weights
    from pipir.errors import PipirError as PipirError
    from pipir.hub import load as load
    from pipir.hub import restore as restore
    from pipir.infer import Restored as Restored
    from pipir.infer import Restorer as Restorer
    from pipir.models import TASKS as TASKS
    from pipir.models import PIPBlock as PIPBlock
    from pipir.models import create_model as create_model
    from pipir.models import task_weights as task_weights


def __getattr__(name: str):
    if name in _SUBMODULES:
        value = importlib.import_module(f"pipir.{name}")
        globals()[name] = value
        return value
    if name not in _WHERE:
        raise AttributeError(f"module 'pipir' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
