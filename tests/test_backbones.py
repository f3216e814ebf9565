"""Backbones match the official state-dict layout and load official checkpoints strictly."""

import pytest
import torch

import pipir
from pipir.checkpoints import load_weights, read_state_dict

from .conftest import REFERENCE

OFFICIAL = [
    ("restormer", "paper", "restormer_default_keys.tsv"),
    ("nafnet", "paper", "nafnet_width32_gopro_keys.tsv"),
    ("nafnet", "sidd", "nafnet_width64_sidd_keys.tsv"),
]


def reference_keys(filename: str) -> list[tuple[str, tuple[int, ...]]]:
    rows = []
    for line in (REFERENCE / filename).read_text().splitlines():
        key, shape = line.split("\t")
        rows.append((key, tuple(int(s) for s in shape.strip("()").split(",") if s.strip())))
    return rows


def reference_state_dict(filename: str) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return {k: torch.randn(shape, generator=g) for k, shape in reference_keys(filename)}


def build(name, variant):
    with torch.device("meta"):
        return pipir.create_model(name, variant)


@pytest.mark.parametrize("name,variant,filename", OFFICIAL)
def test_keys_and_shapes_equal_the_official_lists(name, variant, filename):
    ours = [(k, tuple(v.shape)) for k, v in build(name, variant).state_dict().items()]
    assert ours == reference_keys(filename)


@pytest.mark.parametrize("wrapper", ["params", "params_ema", "state_dict", None])
@pytest.mark.parametrize("prefix", ["", "module.", "net."])
def test_official_checkpoint_file_loads_strictly(tmp_path, wrapper, prefix):
    state = reference_state_dict("nafnet_width32_gopro_keys.tsv")
    state = {prefix + k: v for k, v in state.items()}
    path = tmp_path / "NAFNet-GoPro-width32.pth"
    torch.save({wrapper: state} if wrapper else state, path)
    model = pipir.create_model("nafnet", "paper")
    load_weights(model, path)
    assert torch.equal(model.intro.weight, state[prefix + "intro.weight"])
    assert torch.equal(model.encoders[3][27].conv1.bias, state[prefix + "encoders.3.27.conv1.bias"])


def test_restormer_reference_state_dict_loads_and_runs():
    state = reference_state_dict("restormer_default_keys.tsv")
    model = load_weights(pipir.create_model("restormer", "paper"), {"params": state}).eval()
    assert torch.equal(model.output.weight, state["output.weight"])
    x = torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    with torch.no_grad():  # the loaded output layer is the one that runs
        assert model.output.bias is None  # as in the official layout
        model.output.weight.zero_()
        assert torch.equal(model(x), x)  # Restormer's global residual: zero output layer, input back


@pytest.mark.parametrize(
    "name,variant,filename,fragment",
    [
        ("restormer", "paper", "nafnet_width32_gopro_keys.tsv", "missing keys"),
        ("nafnet", "paper", "nafnet_width64_sidd_keys.tsv", "shape mismatches"),
        ("nafnet", "sidd", "promptir_3task_keys.tsv", "unexpected keys"),
    ],
)
def test_checkpoint_for_another_architecture_names_the_keys(tmp_path, name, variant, filename, fragment):
    path = tmp_path / "other.pth"
    torch.save({"params": reference_state_dict(filename)}, path)
    with pytest.raises(pipir.PipirError, match=fragment) as err:
        load_weights(pipir.create_model(name, variant), path)
    message = str(err.value)
    assert "other.pth does not fit this" in message and "\n" not in message


def test_unreadable_and_missing_checkpoints_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(pipir.PipirError, match="not a readable PyTorch checkpoint"):
        read_state_dict(bad)
    with pytest.raises(pipir.PipirError, match="does not exist"):
        read_state_dict(tmp_path / "missing.pth")
    torch.save({"epoch": 3}, tmp_path / "empty.pth")
    with pytest.raises(pipir.PipirError, match="no state dict"):
        read_state_dict(tmp_path / "empty.pth")


def test_pickled_code_is_not_executed(tmp_path):
    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    path = tmp_path / "evil.pth"
    torch.save({"params": Evil()}, path)
    with pytest.raises(pipir.PipirError, match="not a readable PyTorch checkpoint"):
        read_state_dict(path)


@pytest.mark.parametrize("name", ["restormer", "nafnet", "promptir"])
@pytest.mark.parametrize("shape", [(1, 3, 37, 53), (2, 3, 8, 8), (1, 3, 1, 1), (3, 3, 17, 16)])
def test_any_size_in_same_size_out(name, shape):
    model = pipir.create_model(name, "tiny").eval()
    x = torch.rand(shape)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["restormer", "nafnet", "promptir"])
def test_batch_samples_are_independent(name):
    model = pipir.create_model(name, "tiny").eval()
    x = torch.rand(3, 3, 20, 28)
    with torch.no_grad():
        whole = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(whole, single, atol=1e-5, rtol=1e-4)


def test_parameter_counts_match_the_official_models():
    from pipir.models import count_parameters

    assert count_parameters(build("restormer", "paper")) == 26_126_644
    assert 0.9e6 < count_parameters(build("restormer", "tiny")) < 1.2e6
    assert 0.9e6 < count_parameters(build("nafnet", "tiny")) < 1.2e6


def test_unknown_model_variant_and_option_are_clear_errors():
    with pytest.raises(pipir.PipirError, match="unknown model 'unet'"):
        pipir.create_model("unet")
    with pytest.raises(pipir.PipirError, match="no variant 'sidd'"):
        pipir.create_model("restormer", "sidd")
    with pytest.raises(pipir.PipirError, match="no option 'depth'"):
        pipir.create_model("nafnet", "tiny", depth=3)


def test_nafnet_pads_with_zeros_as_the_official_code_when_asked():
    import torch.nn.functional as F

    from pipir.infer import Restorer

    x = torch.rand(1, 3, 37, 53)
    padded = F.pad(x, (0, 11, 0, 11))  # to 48×64, the multiple of 16
    for name in ("nafnet", "pip_nafnet"):
        model = pipir.create_model(name, "tiny", padding="zeros").eval()
        backbone = getattr(model, "backbone", model)
        args = (pipir.task_weights("derain"),) if name.startswith("pip") else ()
        with torch.no_grad():
            expected = backbone(padded)[..., :37, :53] if not args else model(padded, *args)[..., :37, :53]
            torch.testing.assert_close(model(x, *args), expected)
            reflect = pipir.create_model(name, "tiny").eval()
            reflect.load_state_dict(model.state_dict())
            assert not torch.allclose(reflect(x, *args), expected)  # the option changes the borders
        restored = (
            Restorer(model, device="cpu").restore_tensor(x, task="derain", precision="fp32", ensemble=1).image
        )
        torch.testing.assert_close(restored, expected.clamp(0, 1), atol=1e-5, rtol=0)  # the restore path too
    with pytest.raises(ValueError, match="padding must be"):
        pipir.create_model("nafnet", "tiny", padding="edge")


def test_restormer_with_an_odd_width_is_refused_when_built():
    with pytest.raises(ValueError, match="dim must be even"):
        pipir.create_model("restormer", "tiny", dim=19)


@pytest.mark.parametrize("name", ["restormer", "pip_restormer", "nafnet", "pip_nafnet", "promptir"])
def test_models_are_plain_and_the_cpu_preparation_keeps_their_numbers(name):
    """The model code runs as written (one 1×1 and one depthwise convolution, chunked); the CPU's
    execution choices (channels-last, per-group parts, bands of rows) live in prepare_model and
    change no number."""
    import copy

    from pipir.device import BAND_ROWS, prepare_model

    model = pipir.create_model(name, "tiny").eval()
    assert not any(m.band_rows for m in model.modules() if hasattr(m, "band_rows"))
    flags = [m.split_parts for m in model.modules() if hasattr(m, "split_parts")]
    assert flags and not any(flags)
    prepared = prepare_model(copy.deepcopy(model), torch.device("cpu"))
    assert all(m.split_parts for m in prepared.modules() if hasattr(m, "split_parts"))
    assert all(m.band_rows == BAND_ROWS for m in prepared.modules() if hasattr(m, "band_rows"))
    assert prepared.state_dict().keys() == model.state_dict().keys()
    x = torch.rand(2, 3, 40, 56)  # 40 rows: the first level's blocks run as two bands
    args = (pipir.task_weights("dehaze", batch=2),) if name.startswith("pip") else ()
    with torch.no_grad():
        plain = model(x, *args)
        fast = prepared(x.contiguous(memory_format=torch.channels_last), *args)
    torch.testing.assert_close(fast, plain, atol=2e-5, rtol=1e-4)
    elsewhere = prepare_model(copy.deepcopy(model), torch.device("meta"))  # any non-CPU device
    assert not any(m.split_parts for m in elsewhere.modules() if hasattr(m, "split_parts"))
    assert not any(m.band_rows for m in elsewhere.modules() if hasattr(m, "band_rows"))


@pytest.mark.parametrize("name", ["pip_restormer", "pip_nafnet", "restormer"])
def test_the_cpu_execution_trains_with_the_gradients_of_the_model_as_written(name):
    """Training on a CPU uses set_execution too: a loss's gradients with respect to every weight
    are those of the plain model, to float rounding."""
    import copy

    from pipir.device import set_execution

    model = pipir.create_model(name, "tiny").train()
    fast = copy.deepcopy(model)
    set_execution(fast, torch.device("cpu"))
    convs = [p for p in fast.parameters() if p.dim() == 4]
    assert all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)  # it did set up
    x = torch.rand(2, 3, 40, 56)
    args = (pipir.task_weights("derain", batch=2),) if name.startswith("pip") else ()
    model(x, *args).square().mean().backward()
    fast(x.contiguous(memory_format=torch.channels_last), *args).square().mean().backward()
    plain, grads = dict(model.named_parameters()), dict(fast.named_parameters())
    for key, param in plain.items():
        assert (param.grad is None) == (grads[key].grad is None), key
        if param.grad is not None:
            scale = float(param.grad.abs().max()) + 1e-8
            fast_grad, plain_grad = grads[key].grad / scale, param.grad / scale
            torch.testing.assert_close(fast_grad, plain_grad, atol=1e-4, rtol=0, msg=key)
