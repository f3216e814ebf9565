"""pipir: universal image restoration with Prompt-In-Prompt learning."""

from pipir.checkpoints import load_weights
from pipir.errors import PipirError
from pipir.infer import Restored, Restorer, load, restore
from pipir.models import TASKS, PIPBlock, create_model, task_weights

__version__ = "0.1.0"

__all__ = [
    "TASKS",
    "PIPBlock",
    "PipirError",
    "Restored",
    "Restorer",
    "create_model",
    "load",
    "load_weights",
    "restore",
    "task_weights",
]
