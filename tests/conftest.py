"""Tests run on one torch thread: the CI machine has 2 cores and may be shared."""

import os
from pathlib import Path

import pytest
import torch

torch.set_num_threads(int(os.environ.get("PIPIR_TEST_THREADS", "1")))

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
