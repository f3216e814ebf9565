"""Tests run on the CPU, one torch thread: the CI machine has 2 cores and may be shared, and a GPU
where there is one would switch the numerics (TF32, bf16) under tests whose bounds were measured on
a CPU. GPU paths are measured by the scripts in benchmarks/."""

import os
from pathlib import Path

os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before anything initialises CUDA; subprocesses inherit it

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(int(os.environ.get("PIPIR_TEST_THREADS", "1")))

REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
