"""Every Python snippet of the README runs as written, in a folder holding the files it names; the
only change is the paper-size model made tiny, so that it fits a small machine."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

import pipir
from pipir.io import write_image

README = Path(__file__).resolve().parents[1] / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_readme_snippet_runs(index, tmp_path, monkeypatch):
    code = SNIPPETS[index].replace('variant="paper"', 'variant="tiny"')
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(index)
    for name in ("rainy.jpg", "big.png"):  # the photos the snippets open
        write_image(tmp_path / name, rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    # an official-layout Restormer file of the size the (tiny) snippet builds
    torch.save({"params": pipir.create_model("restormer", "tiny").state_dict()}, "Restormer_denoising.pth")
    scope: dict = {"__name__": "readme"}
    exec(compile(code, f"README.md snippet {index + 1}", "exec"), scope)
    assert set(scope) - {"__name__", "__builtins__"}  # ran, and defined what it names
