"""Backbones, the PIP plug-in and the registry that names them."""

from pipir.models.nafnet import NAFNet
from pipir.models.pip import TASKS, PIPBlock, PIPNet, check_weights, task_weights
from pipir.models.registry import count_parameters, create_model, model_names
from pipir.models.restormer import Restormer

__all__ = [
    "TASKS",
    "NAFNet",
    "PIPBlock",
    "PIPNet",
    "Restormer",
    "check_weights",
    "count_parameters",
    "create_model",
    "model_names",
    "task_weights",
]
