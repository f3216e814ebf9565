"""Training: typed configs, the Lightning module, and ``fit``."""

from pipir.train.config import Config, load_config
from pipir.train.run import fit

__all__ = ["Config", "fit", "load_config"]
