"""The PIP plug-in: backbone unchanged, exact pass-through, gradients, sizes, weights, top-m."""

import re

import pytest
import torch

import pipir
from pipir.models import PIPNet, count_parameters
from pipir.models.pip import PIPBlock, task_weights
from pipir.nn.layers import _transposed_attention, topm_sizes, topm_softmax

PIP_MODELS = ["pip_restormer", "pip_nafnet"]


def onehot(index, k=5):
    return torch.nn.functional.one_hot(torch.as_tensor(index), k).float()


@pytest.mark.parametrize("name", PIP_MODELS)
def test_backbone_state_dict_loads_into_pip_model_unchanged(name):
    backbone = pipir.create_model(name.removeprefix("pip_"), "tiny")
    pip = pipir.create_model(name, "tiny")
    pipir.load_weights(pip.backbone, backbone.state_dict())
    assert list(pip.backbone.state_dict()) == list(backbone.state_dict())
    for key, value in backbone.state_dict().items():
        assert torch.equal(pip.backbone.state_dict()[key], value)


@pytest.mark.parametrize("name", PIP_MODELS)
def test_passthrough_pip_model_reproduces_its_backbone(name):
    backbone = pipir.create_model(name.removeprefix("pip_"), "tiny").eval()
    for p in backbone.parameters():  # NAFNet's beta/gamma start at 0: make every block count
        torch.nn.init.normal_(p, std=0.05) if p.ndim == 4 and p.shape[0] == 1 else None
    pip = pipir.create_model(name, "tiny", passthrough=True).eval()
    pip.backbone.load_state_dict(backbone.state_dict())
    x = torch.rand(2, 3, 24, 40)
    w = task_weights(["derain", {"dehaze": 0.5, "denoise": 0.5}])
    with torch.no_grad():
        assert torch.equal(pip(x, w), backbone(x))
        default = pipir.create_model(name, "tiny").eval()
        default.backbone.load_state_dict(backbone.state_dict())
        assert not torch.allclose(default(x, w), backbone(x), atol=1e-3)


@pytest.mark.parametrize("name", PIP_MODELS)
def test_every_parameter_gets_a_gradient_in_one_step(name):
    model = pipir.create_model(name, "tiny")
    x = torch.rand(5, 3, 32, 32)
    w = torch.eye(5)  # every task prompt is used by one sample
    loss = (model(x, w) - x).abs().mean() + 0.01 * model.prompt_regularization("angle")
    loss.backward()
    for key, p in model.named_parameters():
        assert p.grad is not None, key
        # NAFNet's official init sets each block's beta/gamma to 0, which mutes its other
        # backbone weights on the first step; every PIP weight must still learn.
        if name == "pip_restormer" or key.startswith("pip."):
            assert p.grad.abs().sum() > 0, key


@pytest.mark.parametrize("name", PIP_MODELS)
@pytest.mark.parametrize("shape", [(1, 3, 37, 53), (2, 3, 8, 8), (1, 3, 1, 1)])
def test_odd_sizes_keep_their_shape(name, shape):
    model = pipir.create_model(name, "tiny").eval()
    x = torch.rand(shape)
    with torch.no_grad():
        y = model(x, task_weights("denoise", batch=shape[0]))
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", PIP_MODELS)
def test_mixed_weight_batch_equals_single_samples_and_weights_matter(name):
    model = pipir.create_model(name, "tiny").eval()
    x = torch.rand(1, 3, 21, 35).expand(4, -1, -1, -1).contiguous()
    w = torch.stack([onehot(0), onehot(1), torch.tensor([0.5, 0, 0.5, 0, 0]), torch.full((5,), 0.2)])
    with torch.no_grad():
        batch = model(x, w)
        single = torch.cat([model(x[i : i + 1], w[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(batch, single, atol=1e-5, rtol=1e-4)
    for i in range(4):
        for j in range(i + 1, 4):
            assert (batch[i] - batch[j]).abs().max() > 1e-4, (i, j)


def test_task_weights_helper_reads_names_indices_and_mixtures():
    assert torch.equal(task_weights("derain"), onehot(1)[None])
    assert torch.equal(task_weights(4), onehot(4)[None])
    assert torch.equal(task_weights("dehaze", batch=3), onehot(2).expand(3, 5))
    mix = task_weights({"dehaze": 1, "denoise": 1})
    assert torch.allclose(mix, torch.tensor([[0.5, 0, 0.5, 0, 0]]))
    assert task_weights(["denoise", "lowlight"]).shape == (2, 5)
    assert pipir.TASKS == ("denoise", "derain", "dehaze", "deblur", "lowlight")


@pytest.mark.parametrize(
    "weights,message",
    [
        (torch.ones(2, 4), "shape 2×5"),
        (torch.ones(5), "shape 2×5"),
        (torch.tensor([[1.0, -1, 0, 0, 0]] * 2), "negative"),
        (torch.zeros(2, 5), "at least one positive"),
        (torch.tensor([[float("nan"), 1, 0, 0, 0]] * 2), "finite"),
        (None, "needs prompt weights"),
        ("derain", "B×K tensor"),
    ],
)
def test_bad_weights_are_clear_errors(weights, message):
    model = pipir.create_model("pip_restormer", "tiny")
    with pytest.raises(pipir.PipirError, match=message):
        model(torch.rand(2, 3, 16, 16), weights)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("rain", "unknown task 'rain'"),
        (7, "out of range"),
        ({"haze": 1}, "unknown task"),
        (2.5, "cannot read"),
    ],
)
def test_bad_task_specs_are_clear_errors(spec, message):
    with pytest.raises(pipir.PipirError, match=message):
        task_weights(spec)


def reference_topm(logits, ks, mix):
    out = torch.zeros_like(logits)
    for k, a in zip(ks, mix):
        index = logits.topk(k, dim=-1).indices
        mask = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, index, True)
        out = out + a * logits.masked_fill(~mask, float("-inf")).softmax(dim=-1)
    return out


@pytest.mark.parametrize("c", [6, 16, 32, 64])
def test_topm_softmax_equals_masked_softmax_reference(c):
    logits = torch.randn(2, 4, c, c, dtype=torch.float64, requires_grad=True)
    mix = torch.tensor([0.2, 0.3, 0.1, 0.4], dtype=torch.float64, requires_grad=True)
    ks = topm_sizes(c)
    ours, ref = topm_softmax(logits, ks, mix), reference_topm(logits, ks, mix)
    torch.testing.assert_close(ours, ref, atol=1e-12, rtol=1e-10)
    g1 = torch.autograd.grad(ours.pow(2).sum(), (logits, mix))
    g2 = torch.autograd.grad(ref.pow(2).sum(), (logits, mix))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)


def test_topm_sizes_follow_the_paper():
    assert topm_sizes(16) == (8, 10, 12, 12)
    assert topm_sizes(64) == (32, 42, 48, 51)


def test_prompt_regularization_kinds():
    model = pipir.create_model("pip_restormer", "tiny")
    for kind in ("angle", "cosine"):
        assert model.prompt_regularization(kind).item() > 0
    block = model.pip[0]
    with torch.no_grad():  # mutually orthogonal prompts: both terms vanish
        block.prompt.task_prompts.copy_(torch.eye(5, block.prompt.task_prompts.shape[1]))
    assert block.prompt_regularization("angle").item() == 0
    assert block.prompt_regularization("cosine").item() == pytest.approx(0, abs=1e-6)
    with pytest.raises(pipir.PipirError, match="unknown prompt regularization"):
        block.prompt_regularization("l2")


@pytest.mark.parametrize("options", [{"topm": False}, {"prompt_to_prompt": False}])
def test_ablation_switches_remove_their_part_change_the_output_and_still_train(options):
    torch.manual_seed(0)
    base = pipir.create_model("pip_restormer", "tiny").eval()
    model = pipir.create_model("pip_restormer", "tiny", **options).eval()
    if "topm" in options:  # every level's selection and its branch mix are gone
        part, kept = "topm", all(b.to_feature.attn.topm is None for b in model.pip)
    else:  # the interaction block and its channel alignment are gone at every level
        part = "interaction|align"
        kept = not any(hasattr(b.prompt, "interaction") or hasattr(b.prompt, "align") for b in model.pip)
    assert kept
    missing, unexpected = model.load_state_dict(base.state_dict(), strict=False)  # shared weights equal
    assert not missing and unexpected and all(re.search(part, k) for k in unexpected)
    removed = sum(v.numel() for k, v in base.state_dict().items() if k in unexpected)
    assert count_parameters(model) == count_parameters(base) - removed
    x = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        change = (model(x, torch.eye(5)) - base(x, torch.eye(5))).abs().max()
    assert change > 1e-3  # same weights otherwise: only the switch can make this difference
    model.train()
    model(x, torch.eye(5)).mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_readme_example_of_pip_on_your_own_unet_runs_and_trains_the_prompts():
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1].joinpath("README.md").read_text()
    section = readme.split("### PIP on your own U-Net", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    model, x, restored = scope["model"], scope["x"], scope["restored"]
    assert restored.shape == x.shape
    assert model.pip.prompt.task_prompts.grad is not None  # the example's backward reaches the prompt bank
    with torch.no_grad():  # the weights steer the output
        assert (model(x, task_weights("denoise", batch=2)) - restored).abs().max() > 1e-4


def test_plug_in_wraps_any_unet_with_skip_hooks():
    block = PIPBlock(channels=20, prompt_size=8)
    assert block.prompt.task_prompts.shape == (5, 28)
    feature = torch.rand(2, 20, 13, 9)
    assert block(feature, task_weights("deblur", batch=2)).shape == feature.shape
    model = PIPNet(pipir.create_model("nafnet", "tiny"), (16, 32, 64), (8, 8, 8))
    assert len(model.pip) == 3 and model.pip[2].prompt.task_prompts.shape == (5, 64)


def test_dual_gate_inference_shortcut_equals_the_autograd_path():
    from pipir.nn import DualGateFFN

    ffn = DualGateFFN(12)
    x = torch.randn(2, 12, 9, 7)
    with torch.no_grad():
        fast = ffn(x)
    torch.testing.assert_close(fast, ffn(x), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("n_in,n_out", [(8, 37), (32, 400), (50, 8), (403, 32), (16, 16)])
def test_interpolation_matrix_equals_torch_bilinear(n_in, n_out):
    from pipir.models.pip import _interpolation_matrix

    x = torch.rand(2, 3, n_in, 5)
    expected = torch.nn.functional.interpolate(x, size=(n_out, 5), mode="bilinear", align_corners=False)
    torch.testing.assert_close(_interpolation_matrix(n_in, n_out) @ x, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("conv_at_prompt_size", [False, True])
def test_tile_prompt_windows_equal_the_whole_prompt_and_samples_add_up(conv_at_prompt_size):
    """A tile's share of the prompt is the crop of the whole image's; the tiles' S×S samples sum to
    the whole feature map resized to S×S."""
    from pipir.models.pip import _resize, sample_part

    torch.manual_seed(0)
    block = PIPBlock(8, prompt_size=8, conv_at_prompt_size=conv_at_prompt_size).eval()
    feature, weights = torch.randn(1, 8, 40, 56), task_weights("derain", batch=1)
    with torch.no_grad():
        universal = block.prompt.universal(_resize(feature, (8, 8)), weights)
        whole = block.prompt.expand(universal, (40, 56))
        for top, left, h, w in [(0, 0, 16, 24), (8, 16, 24, 24), (24, 32, 16, 24), (0, 48, 40, 8)]:
            part = block.prompt.expand(universal, (40, 56), (top, left, h, w))
            torch.testing.assert_close(part, whole[..., top : top + h, left : left + w], atol=1e-5, rtol=1e-5)
        blocks = [(0, 0, 24, 32), (0, 32, 24, 56), (24, 0, 40, 32), (24, 32, 40, 56)]
        sampled = sum(
            sample_part(feature[..., r0:r1, c0:c1], (40, 56), (r0, c0), 8) for r0, c0, r1, c1 in blocks
        )
        torch.testing.assert_close(sampled, _resize(feature, (8, 8)), atol=1e-5, rtol=1e-5)


def _reference_channel_attention(q, k, v, heads, temperature, normalise=None):
    """The official formula: normalise each channel over the pixels, softmax, weighted sum."""
    b, c, h, w = v.shape

    def by_head(x):
        return x.reshape(b, heads, c // heads, h * w)

    q, k = (
        torch.nn.functional.normalize(by_head(q), dim=-1),
        torch.nn.functional.normalize(by_head(k), dim=-1),
    )
    logits = (q @ k.transpose(-2, -1)) * temperature
    attn = logits.softmax(dim=-1) if normalise is None else normalise(logits)
    return (attn @ by_head(v)).reshape(b, c, h, w)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("heads", [1, 2, 4])
@pytest.mark.parametrize("topm", [False, True])
def test_channel_attention_equals_the_reference_in_both_memory_layouts(channels_last, heads, topm):
    torch.manual_seed(heads)
    q, k, v = (torch.randn(2, 8 * heads, 5, 7, dtype=torch.float64) for _ in range(3))
    if channels_last:
        q, k, v = (x.contiguous(memory_format=torch.channels_last) for x in (q, k, v))
    temperature = torch.rand(heads, 1, 1, dtype=torch.float64) + 0.5
    normalise = None
    if topm:
        mix = torch.tensor([0.2, 0.3, 0.1, 0.4], dtype=torch.float64)

        def normalise(logits):
            return topm_softmax(logits, (4, 5, 6, 6), mix)

    got = _transposed_attention(q, k, v, heads, temperature, normalise)
    want = _reference_channel_attention(q, k, v, heads, temperature, normalise)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-12)
    assert got.is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("name", ["pip_restormer", "pip_nafnet"])
def test_channels_last_model_gives_the_same_output(name):
    torch.manual_seed(0)
    model = pipir.create_model(name, "tiny").eval()
    x, weights = torch.rand(1, 3, 24, 40), task_weights("derain")
    with torch.no_grad():
        want = model(x, weights)
        model = model.to(memory_format=torch.channels_last)
        got = model(x.contiguous(memory_format=torch.channels_last), weights)
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)
