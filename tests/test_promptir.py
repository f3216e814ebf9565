"""PromptIR in the official layout: an official Lightning checkpoint loads strictly and restores blind."""

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import pipir
from pipir.checkpoints import load_weights
from pipir.io import read_image, write_image
from pipir.models.promptir import UNUSED_KEYS, PromptGenBlock

from .test_backbones import build, reference_keys, reference_state_dict

KEYS = "promptir_3task_keys.tsv"


def official_ckpt(path, state):
    """A file laid out as PromptIR's Lightning training saves it: ``state_dict`` with ``net.`` keys
    beside the trainer's own entries."""
    torch.save(
        {
            "epoch": 119,
            "global_step": 1_000,
            "pytorch-lightning_version": "2.0.0",
            "state_dict": {f"net.{k}": v for k, v in state.items()},
            "loops": {},
            "callbacks": {},
            "optimizer_states": [{"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": []}],
            "lr_schedulers": [{"last_epoch": 119}],
        },
        path,
    )
    return path


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    state = {k: 0.05 * v for k, v in reference_state_dict(KEYS).items()}
    return official_ckpt(tmp_path_factory.mktemp("promptir") / "epoch=119-step=1000.ckpt", state), state


def test_keys_and_shapes_equal_the_official_list_less_its_unused_convolutions():
    official = reference_keys(KEYS)
    unused = [k for k, _ in official if k.startswith(UNUSED_KEYS)]
    assert unused == [
        "chnl_reduce1.weight",
        "chnl_reduce2.weight",
        "chnl_reduce3.weight",
        "reduce_noise_channel_1.weight",
        "reduce_noise_channel_2.weight",
        "reduce_noise_channel_3.weight",
    ]
    model = build("promptir", "paper")
    ours = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert ours == [(k, s) for k, s in official if k not in unused]
    # 35,592,263 official parameters, of which 215,296 sit in the unused convolutions
    assert sum(p.numel() for p in model.parameters()) == 35_592_263 - 215_296


def test_official_lightning_checkpoint_loads_strictly_and_restores_blind(tmp_path, checkpoint):
    path, state = checkpoint
    restorer = pipir.load(path, device="cpu")
    model = restorer.model
    assert model.pipir_config["name"] == "promptir" and not restorer.uses_prompts
    for key in ("prompt3.prompt_param", "noise_level1.ffn.project_out.weight", "output.weight"):
        assert torch.equal(model.state_dict()[key], state[key])

    image = np.random.default_rng(0).random((24, 40, 3), dtype=np.float32)
    image = np.round(image * 255).astype(np.float32) / 255  # exactly what the 8-bit file below holds
    result = restorer.restore(image, task="auto", precision="fp32", ensemble=1)  # auto: bf16 on AMX
    assert result.source == "none" and result.weights == {}
    with torch.no_grad():
        expected = model(torch.from_numpy(image).permute(2, 0, 1)[None]).clamp(0, 1)[0].permute(1, 2, 0)
    torch.testing.assert_close(torch.from_numpy(result.image), expected, atol=1e-5, rtol=0)
    assert np.abs(result.image - image).mean() > 0.01  # the random weights do change the image

    write_image(tmp_path / "in.png", np.round(image * 255).astype(np.uint8))
    command = ["restore", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"), "--model", str(path)]
    command += ["--precision", "fp32", "--ensemble", "1"]  # as above
    cli = subprocess.run(
        [sys.executable, "-m", "pipir.cli", *command],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 0, cli.stderr
    written = read_image(tmp_path / "out.png").astype(np.float32) / 255
    assert np.abs(written - image).mean() > 0.01
    assert np.abs(written - result.image).max() <= 1.5 / 255  # the same model, 8-bit rounding apart


def test_checkpoint_without_its_unused_convolutions_also_loads(tmp_path, checkpoint):
    _, state = checkpoint
    used = {k: v for k, v in state.items() if not k.startswith(UNUSED_KEYS)}
    model = load_weights(pipir.create_model("promptir", "paper"), official_ckpt(tmp_path / "a.ckpt", used))
    assert torch.equal(model.prompt1.prompt_param, state["prompt1.prompt_param"])


def test_a_missing_or_reshaped_key_is_refused(tmp_path, checkpoint):
    _, state = checkpoint
    missing = {k: v for k, v in state.items() if k != "noise_level2.attn.temperature"}
    with pytest.raises(pipir.PipirError, match="1 missing keys .*noise_level2.attn.temperature"):
        load_weights(pipir.create_model("promptir", "paper"), official_ckpt(tmp_path / "m.ckpt", missing))
    reshaped = {**state, "prompt2.prompt_param": torch.zeros(1, 5, 128, 16, 16)}
    with pytest.raises(pipir.PipirError, match="shape mismatches"):
        load_weights(pipir.create_model("promptir", "paper"), official_ckpt(tmp_path / "r.ckpt", reshaped))


def test_detected_sizes_rebuild_a_tiny_promptir(tmp_path):
    tiny = pipir.create_model("promptir", "tiny")
    path = official_ckpt(tmp_path / "tiny.ckpt", tiny.state_dict())
    loaded = pipir.load(path, device="cpu").model
    config = loaded.pipir_config
    assert config["dim"] == 16 and config["num_blocks"] == (1, 1, 1, 2)
    assert config["prompt_dims"] == (24, 48, 96) and config["prompt_sizes"] == (32, 16, 8)


def test_prompt_block_mixes_its_prompts_by_the_input_and_follows_its_size():
    torch.manual_seed(0)
    block = PromptGenBlock(prompt_dim=4, prompt_size=6, in_channels=3, prompt_len=5)
    with torch.no_grad():  # weights picked by the bias alone: prompt 3 for every input
        block.linear_layer.weight.zero_()
        block.linear_layer.bias.copy_(torch.tensor([0.0, 0, 0, 50, 0]))
    x = torch.rand(2, 3, 9, 13)
    expected = block.conv3x3(F.interpolate(block.prompt_param[:, 3], size=(9, 13), mode="bilinear"))
    torch.testing.assert_close(block(x), expected.expand(2, -1, -1, -1), atol=1e-5, rtol=1e-5)

    with torch.no_grad():  # weights from the input's mean: different inputs, different mixtures
        block.linear_layer.weight.normal_()
        block.linear_layer.bias.zero_()
    dark, bright = torch.zeros(1, 3, 8, 8), torch.ones(1, 3, 8, 8)
    w_dark, w_bright = block.mixing_weights(dark), block.mixing_weights(bright)
    torch.testing.assert_close(w_dark.sum(), torch.tensor(1.0))
    assert (w_dark - w_bright).abs().max() > 0.05
