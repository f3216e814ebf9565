"""Banded execution (pipir.nn.banded): the CPU's way of running Restormer's blocks and PIP's
prompt-to-feature FFN a band of rows at a time must give the layers' own numbers."""

import pytest
import torch

from pipir.models.pip import PromptToFeature
from pipir.nn import TransformerBlock, banded


def test_bands_cover_every_row_once_with_halos_inside_the_image():
    for height, rows in [(1, 4), (7, 4), (8, 4), (37, 8), (64, 32)]:
        covered = []
        for top, end, h0, h1 in banded.bands(height, rows, halo=1):
            assert 0 < end - top <= rows
            assert h0 == max(0, top - 1) and h1 == min(height, end + 1)
            covered += range(top, end)
        assert covered == list(range(height))


def _spy(monkeypatch, name: str) -> list:
    """Calls of ``banded.<name>`` recorded, so a test sees that the layer took the banded path."""
    calls, original = [], getattr(banded, name)

    def spy(*args, **kwargs):
        calls.append(args[-1])  # the rows per band
        return original(*args, **kwargs)

    monkeypatch.setattr(banded, name, spy)
    return calls


def _random(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter random, so that no zero-initialised projection hides a wrong band."""
    g = torch.Generator().manual_seed(seed)
    for p in module.parameters():
        p.data = torch.randn(p.shape, generator=g) * 0.5
    return module.eval()


@pytest.mark.parametrize("layernorm", ["WithBias", "BiasFree"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_a_banded_restormer_block_gives_the_blocks_own_numbers(monkeypatch, layernorm, channels_last):
    calls = _spy(monkeypatch, "block_forward")
    block = _random(TransformerBlock(16, heads=2, ffn_expansion=2.66, bias=False, layernorm=layernorm))
    x = torch.randn(2, 16, 37, 23)  # 37 rows: four bands of 8 and one of 5
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain = block(x)
        block.band_rows = 8
        banded_out = block(x)
    assert calls == [8] and not torch.equal(plain, x)
    torch.testing.assert_close(banded_out, plain, atol=1e-5, rtol=1e-5)


def test_a_banded_prompt_to_feature_block_gives_the_blocks_own_numbers(monkeypatch):
    calls = _spy(monkeypatch, "prompt_to_feature_forward")
    block = _random(PromptToFeature(12, prompt_dim=16, heads=2))  # top-m attention, dual-gate FFN
    feature, prompt = torch.randn(1, 12, 21, 30), torch.randn(1, 16, 21, 30)
    with torch.no_grad():
        plain = block(feature, prompt)
        block.band_rows = 4
        torch.testing.assert_close(block(feature, prompt), plain, atol=1e-5, rtol=1e-5)
    assert calls == [4]


def test_banded_blocks_under_bf16_autocast_stay_as_close_as_unbanded_ones():
    block = _random(TransformerBlock(16, heads=2, ffn_expansion=2.66, bias=False, layernorm="WithBias"))
    x = torch.randn(1, 16, 40, 24)
    with torch.no_grad():
        exact = block(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            plain = block(x).float()
            block.band_rows = 8
            fast = block(x).float()
    # bf16 rounds both; banding must not add an error of its own beyond bf16's
    assert (fast - exact).abs().max() <= 2 * (plain - exact).abs().max() + 1e-2


def test_bands_are_not_used_with_autograd_on_or_for_a_short_input(monkeypatch):
    calls = _spy(monkeypatch, "block_forward")
    block = _random(TransformerBlock(8, heads=1, ffn_expansion=2.0, bias=False, layernorm="WithBias"))
    block.band_rows = 4
    x = torch.randn(1, 8, 16, 8, requires_grad=True)
    assert not banded.applies(4, torch.zeros(1, 8, 4, 8))  # one band: nothing to gain
    assert not banded.applies(None, torch.zeros(1, 8, 16, 8))
    y = block(x)  # training: the layers' own forward, so gradients flow
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and calls == []
