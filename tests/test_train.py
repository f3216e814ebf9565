"""Training: configs fail early and clearly, resume is exact, DDP keeps ranks in step."""

import csv
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from lightning.pytorch.callbacks import Callback
from safetensors.torch import load_file

import pipir
from pipir.checkpoints import load_bundle
from pipir.train import fit, load_config, run
from pipir.train.config import TrainerConfig
from pipir.train.module import (
    RestorationModule,
    StreamSampler,
    blend_prompts,
    build_dataset,
    build_models,
    frequency_loss,
    lr_factor,
)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
QUICK = [
    "trainer.log_every=1",
    "trainer.batch_size=2",
    "data.patch=32",
    "optim.warmup_steps=2",
    "trainer.threads=1",
]


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_configs_parse(name, tmp_path):
    from pipir.data import write_fake_benchmark

    root = write_fake_benchmark(tmp_path, n=1)
    overrides = [f"data.root={root}"] if name.startswith("paper") else []
    if "kind: photos" in (CONFIGS / name).read_text():  # trained from the fetched photos: any folder
        overrides.append(f"data.images={tmp_path}")
    raw = yaml.safe_load((CONFIGS / name).read_text())
    for part in ("model", "sensor"):  # a part that starts from an earlier run's output
        if str((raw.get(part) or {}).get("init_weights")).startswith("runs/"):
            overrides.append(f"{part}.init_weights=pipir-small")
    config = load_config(CONFIGS / name, overrides)
    assert config.trainer.max_steps > 0 and (config.sensor.only or config.model.name.startswith("pip_"))


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["trainer.max_step=5"], "unknown config key 'trainer.max_step'"),
        (["colour=red"], "unknown config key 'colour'"),
        (["trainer.batch_size=two"], "'trainer.batch_size' must be int"),
        (["optim.lr=[1]"], "'optim.lr' must be float"),
        (["data.tasks=[denoise, snow]"], "unknown task 'snow'"),
        (["data.images=/no/such/folder"], "folder /no/such/folder does not exist"),
        (["data.kind=benchmark"], "'data.root' must name the dataset root"),
        (["data.kind=benchmark", "data.root=/no/such/root"], "dataset root /no/such/root does not exist"),
        (["loss.pixel=l2"], "'loss.pixel' must be one of"),
        (["data.jpeg_target=clean"], "'data.jpeg_target' must be one of input, photo, not 'clean'"),
        (["trainer.max_steps=0"], "must be positive"),
        (["data.tone_prob=1.5"], r"'data.tone_prob' must lie in \[0, 1\], not 1.5"),
        (["data.jpeg_by_class={snow: 0.1}"], "'data.jpeg_by_class': no class 'snow'"),
        (["data.jpeg_by_class.denoise=2"], r"'data.jpeg_by_class.denoise' must lie in \[0, 1\], not 2"),
        (["data.jpeg_by_class={denoise: often}"], "'data.jpeg_by_class.denoise' must be float, not 'often'"),
        (["data.repeats={denoise: many}"], "'data.repeats.denoise' must be int, not 'many'"),
        (["model.backbone_weights=/no/file.pth"], "does not exist"),
        (["model.init_weights=/no/file.safetensors"], "'model.init_weights'.*neither a file nor a shipped"),
        (["model.init_weights=pipir-small"], "'model.init_weights'.*holds a .*'small'.*not the"),
        (
            ["sensor.init_weights=pipir-small"],
            "'sensor.init_weights'.*'num_tasks': 6}, not the .*'num_tasks': 5}",
        ),
        (["sensor.init_weights=pipir-small", "sensor.enabled=false"], "'sensor.init_weights' needs sensor"),
        (["model"], "must look like key.sub=value"),
        (["loss.frequency_weight=-0.1"], "'loss.frequency_weight' must be 0 or more"),
        (["trainer.precision=fp8"], "'trainer.precision' must be one of auto, 32-true, bf16-mixed, 16-mixed"),
    ],
)
def test_bad_configs_fail_before_training_with_the_key_named(overrides, message):
    with pytest.raises(pipir.PipirError, match=message):
        load_config(None, overrides)


def test_numbers_with_an_exponent_and_no_dot_are_read_as_floats():
    # YAML 1.1 (PyYAML) reads 3e-4 as a string; the config reads it as the number a user means
    config = load_config(None, ["optim.lr=3e-4", "optim.min_lr=1E-6", "optim.weight_decay=.5e+1"])
    assert (config.optim.lr, config.optim.min_lr, config.optim.weight_decay) == (3e-4, 1e-6, 5.0)
    with pytest.raises(pipir.PipirError, match="'optim.lr' must be float"):
        load_config(None, ["optim.lr=3e-4x"])


def test_benchmark_config_names_a_task_the_dataset_lacks(tmp_path):
    from pipir.data import write_fake_benchmark

    root = write_fake_benchmark(tmp_path, n=1, tasks=("denoise", "derain", "dehaze"))
    load_config(None, ["data.kind=benchmark", f"data.root={root}", "data.tasks=[denoise, derain]"])
    with pytest.raises(pipir.PipirError, match="no deblur training data"):
        load_config(None, ["data.kind=benchmark", f"data.root={root}"])


def test_missing_and_invalid_config_files(tmp_path):
    with pytest.raises(pipir.PipirError, match="does not exist"):
        load_config(tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(pipir.PipirError, match="not valid YAML"):
        load_config(bad)


def test_schedule_warms_up_then_decays_to_the_floor_and_stays():
    values = [lr_factor(s, 10, 100, 0.1, 0.01) for s in range(130)]
    assert values[0] == pytest.approx(0.1) and values[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[10:], values[11:]))
    assert values[100] == pytest.approx(0.01) and values[129] == pytest.approx(0.01)


@pytest.mark.parametrize("name", ["pip_restormer", "pip_nafnet"])
def test_identity_init_starts_from_the_input(name):
    x = torch.rand(1, 3, 24, 40)
    weights = pipir.task_weights("deblur", batch=1)
    config = load_config(None, [f"model.name={name}", "model.identity_init=true"])
    model, _ = build_models(config)
    with torch.no_grad():
        torch.testing.assert_close(model(x, weights), x)
        plain, _ = build_models(load_config(None, [f"model.name={name}"]))
        assert (plain(x, weights) - x).abs().max() > 1e-3


def test_init_weights_start_from_a_shipped_model_and_identity_init_is_ignored(tmp_path):
    overrides = [f"data.images={tmp_path}", "model.init_weights=pipir-tiny"]  # the config that made it
    config = load_config(CONFIGS / "pipir-tiny-photos.yaml", overrides)
    assert config.model.identity_init
    model, _ = build_models(config)
    shipped = pipir.load("pipir-tiny", device="cpu").model.state_dict()
    started = model.state_dict()
    assert started.keys() == shipped.keys()
    for key, value in shipped.items():
        torch.testing.assert_close(started[key], value.contiguous(), msg=key)


def test_sensor_init_weights_start_from_a_shipped_classifier(tmp_path):
    overrides = [f"data.images={tmp_path}", "sensor.init_weights=pipir-small"]
    config = load_config(CONFIGS / "sensor-photos.yaml", overrides)
    model, sensor = build_models(config)
    shipped = pipir.load("pipir-small", device="cpu").sensor.state_dict()
    assert model is None and sensor.state_dict().keys() == shipped.keys()
    for key, value in shipped.items():
        torch.testing.assert_close(sensor.state_dict()[key], value, msg=key)
    with pytest.raises(pipir.PipirError, match="'sensor.init_weights'.*'width': 32.*not the .*'width': 48"):
        load_config(CONFIGS / "sensor-photos.yaml", overrides + ["sensor.width=48"])


def test_init_weights_refuse_a_file_of_another_kind(tmp_path):
    official = tmp_path / "official.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(1)}, str(official))
    for key in ("model", "sensor"):
        with pytest.raises(pipir.PipirError, match=f"'{key}.init_weights': official.safetensors is not a"):
            load_config(None, [f"{key}.init_weights={official}"])


def test_blended_prompts_stay_weights_and_keep_the_true_task_in_the_chosen_share():
    one_hot = torch.nn.functional.one_hot(torch.arange(4000) % 5, 5).float()
    g = torch.Generator().manual_seed(0)
    assert torch.equal(blend_prompts(one_hot, 0.0, g), one_hot)
    blended = blend_prompts(one_hot, 0.25, g)
    changed = (blended != one_hot).any(1)
    assert 0.22 < changed.float().mean() < 0.28
    assert torch.allclose(blended.sum(1), torch.ones(4000)) and (blended >= 0).all()
    true = (blended * one_hot).sum(1)[changed]  # weight left on the true task: 1 − λ + λ·r_true
    assert 0.55 < true.mean() < 0.65  # E = 1/2 + 1/2 · 1/5 = 0.6
    assert (blended[changed].argmax(1) != one_hot[changed].argmax(1)).any()  # some blends mislead


def test_oversampled_tasks_weigh_less_in_the_classifier_loss():
    config = load_config(None, ["data.tasks=[denoise,deblur,deblur,deblur,lowlight]"])
    weights = dict(zip(pipir.TASKS, RestorationModule(config).class_weights.tolist()))
    assert weights == pytest.approx({"denoise": 1, "derain": 1, "dehaze": 1, "deblur": 1 / 3, "lowlight": 1})


def test_stream_sampler_resumes_where_it_stopped_and_splits_ranks():
    whole = list(StreamSampler(size=7, total=40, start=0, seed=1))
    assert list(StreamSampler(size=7, total=40, start=16, seed=1)) == whole[16:]
    rank0 = list(StreamSampler(size=7, total=40, start=0, seed=1, rank=0, world=2))
    rank1 = list(StreamSampler(size=7, total=40, start=0, seed=1, rank=1, world=2))
    assert sorted(rank0 + rank1, key=lambda k: k[1]) == whole
    assert sorted(i for i, _ in whole[:7]) == list(range(7))  # one pass visits every item once


class StepsSeen(Callback):
    """The step of every batch trained, and whether the convolutions' weights were channels-last."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.channels_last: set[bool] = set()

    def on_train_batch_start(self, trainer, module, *args) -> None:
        self.steps.append(trainer.global_step)
        convs = [p for p in module.parameters() if p.dim() == 4]
        self.channels_last.add(all(p.is_contiguous(memory_format=torch.channels_last) for p in convs))


def test_training_runs_exports_and_resumes_bit_exactly(tmp_path):
    steps = ["trainer.max_steps=6", "trainer.checkpoint_every=3", *QUICK]
    straight = fit(load_config(None, [*steps, f"output={tmp_path}/a"]), progress=False)
    fit(load_config(None, [*steps, f"output={tmp_path}/b", "trainer.stop_at_step=4"]), progress=False)
    assert (tmp_path / "b/checkpoints/last.ckpt").is_file()
    seen = StepsSeen()
    resumed = fit(
        load_config(None, [*steps, f"output={tmp_path}/b"]), resume="auto", progress=False, callbacks=(seen,)
    )
    # the resumed launch starts at the checkpoint's step and trains only the remaining ones
    assert seen.steps == [4, 5]
    assert seen.channels_last == {True}  # the CPU's execution (set_execution), resumed too
    a, b = load_file(straight), load_file(resumed)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    model, sensor, info = load_bundle(straight)
    assert info["training"]["steps"] == 6 and model is not None and sensor is not None
    # a run's Lightning checkpoint exported as a pipir checkpoint: the same weights as the export
    exported = tmp_path / "step6.safetensors"
    result = export_checkpoint(tmp_path / "a/checkpoints/step0000006.ckpt", exported)
    assert result.returncode == 0, result.stderr
    assert load_bundle(exported)[2]["training"]["steps"] == 6
    early = load_file(exported)
    assert early.keys() == a.keys() and all(torch.equal(early[k], a[k]) for k in a)
    assert (tmp_path / "a/logs/version_0/metrics.csv").read_text().startswith("epoch")
    assert (tmp_path / "b/logs/version_1/metrics.csv").is_file()  # the resumed launch
    assert any((tmp_path / "a/tensorboard").iterdir())


def export_checkpoint(ckpt: Path, out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pipir.cli", "export", "checkpoint", str(ckpt), str(out)]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.parametrize(
    "case,message",
    [
        ("no config", "has no run config beside its folder"),
        ("not lightning", "is not a Lightning checkpoint of a pipir run"),
        ("other model", "does not match the model its run's config.yaml describes"),
        ("bad suffix", "the output file must end in .safetensors"),
        ("missing", "does not exist"),
    ],
)
def test_export_checkpoint_refuses_bad_input_in_one_sentence(tmp_path, case, message):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    config = load_config(None, ["output=" + str(run)])
    (run / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
    ckpt = run / "checkpoints/step0000003.ckpt"
    module = RestorationModule(config)
    torch.save({"state_dict": module.state_dict(), "global_step": 3}, ckpt)
    out = tmp_path / "out.safetensors"
    if case == "no config":
        (run / "config.yaml").unlink()
    elif case == "not lightning":
        torch.save(module.state_dict(), ckpt)  # a bare state dict: no step, no wrapper
    elif case == "other model":
        torch.save({"state_dict": {"model.x": torch.zeros(1)}, "global_step": 3}, ckpt)
    elif case == "bad suffix":
        out = tmp_path / "out.pt"
    elif case == "missing":
        ckpt = run / "checkpoints/step0000009.ckpt"
    result = export_checkpoint(ckpt, out)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_two_cpu_processes_stay_identical_and_see_different_samples(tmp_path):
    worker = Path(__file__).with_name("ddp_worker.py")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node=2",
            f"--master_port={free_port()}",  # a fixed one fails when another run holds it
            str(worker),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    for key in r0["state"]:
        assert torch.equal(r0["state"][key], r1["state"][key]), key
    assert len(r0["positions"]) == len(r1["positions"]) == 6
    assert not set(r0["positions"]) & set(r1["positions"])


def test_gradient_clipping_bounds_the_gradient_that_steps(tmp_path):
    """``trainer.gradient_clip_val`` reaches Lightning: the gradients the optimiser steps with (still
    on the parameters at the end of the batch) have at most that total norm; without it they are larger."""
    from lightning.pytorch.callbacks import Callback

    class Norms(Callback):
        def __init__(self):
            self.norms = []

        def on_train_batch_end(self, trainer, module, *args):
            grads = [p.grad for p in module.parameters() if p.grad is not None]
            self.norms.append(torch.nn.utils.get_total_norm(grads).item())

    runs = {}
    for clip in ("null", "1.0e-3"):
        norms = Norms()
        config = load_config(
            None,
            ["trainer.max_steps=2", *QUICK, f"trainer.gradient_clip_val={clip}", f"output={tmp_path}/{clip}"],
        )
        fit(config, progress=False, callbacks=(norms,))
        runs[clip] = norms.norms
    assert len(runs["1.0e-3"]) == 2 and max(runs["1.0e-3"]) <= 1.0e-3 * 1.001
    assert min(runs["null"]) > 1.0e-2


def photo_run(folder: Path, photos: int) -> list[str]:
    """Random 96×80 photos in ``folder`` and the overrides of a 3-step run on them (output in
    ``folder/run``)."""
    from PIL import Image

    rng = torch.Generator().manual_seed(0)
    for i in range(photos):
        pixels = (torch.rand(80, 96, 3, generator=rng) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(folder / f"p{i}.png")
    run = ["trainer.max_steps=3", "data.num_workers=0", f"output={folder / 'run'}"]
    return [*QUICK, *run, f"data.images={folder}", "data.split=null"]


def test_photo_windows_train_a_six_class_classifier_and_restore_blind(tmp_path):
    """data.kind photos: windows degraded per batch on the device, a sensor with the "clean" class,
    and the exported bundle restores blind with a strength from that class."""
    overrides = [
        *photo_run(tmp_path, photos=3),
        "data.clean_prob=0.3",
        "data.jpeg_prob=0.5",
        "data.jpeg_by_class={denoise: 0.1}",
        "data.tone_prob=0.5",
    ]
    config = load_config(CONFIGS / "pipir-tiny-gpu.yaml", [*overrides, "trainer.precision=32-true"])
    export = fit(config, progress=False)
    model, sensor, info = load_bundle(export)
    assert sensor.num_tasks == len(pipir.TASKS) + 1 and info["training"]["steps"] == 3
    result = pipir.restore((torch.rand(40, 48, 3).numpy()), model=pipir.load(export, device="cpu"))
    assert 0 <= result.strength <= 1 and sum(result.weights.values()) == pytest.approx(1, abs=1e-5)


def test_trainable_patterns_tune_one_task_prompt_and_leave_the_rest_exactly(tmp_path):
    """Prompt tuning: denoising samples only, told the task, only the task prompts trainable (no
    weight decay or prompt regularisation to move the other rows): the denoising row of every
    level's bank changes, every other tensor and row stays bit-identical to the start."""
    overrides = [
        *photo_run(tmp_path, photos=2),
        "data.tasks=[denoise]",
        "data.clean_prob=0",
        "data.prompt_mix=0",
        "model.init_weights=pipir-tiny",
        "optim.weight_decay=0",
        "optim.lr=1e-2",
        "loss.regularization=none",
        "trainer.precision=32-true",
        'optim.trainable=["model.pip.*.prompt.task_prompts"]',
    ]
    config = load_config(CONFIGS / "pipir-tiny-photos.yaml", overrides)
    module = RestorationModule(config)
    assert {n for n, p in module.named_parameters() if p.requires_grad} == {
        f"model.pip.{i}.prompt.task_prompts" for i in range(len(module.model.pip))
    }
    start = {k: v.clone() for k, v in module.model.state_dict().items()}
    trained, _, _ = load_bundle(fit(config, progress=False))
    denoise = pipir.TASKS.index("denoise")
    for key, value in trained.state_dict().items():
        if key.endswith("task_prompts"):
            assert not torch.equal(value[denoise], start[key][denoise]), key
            others = [k for k in range(len(pipir.TASKS)) if k != denoise]
            assert torch.equal(value[others], start[key][others]), key
        else:
            assert torch.equal(value, start[key]), key
    for wrong, message in [
        ('optim.trainable=["model.pip.*.prompts"]', r"'model\.pip\.\*\.prompts' matches no parameter"),
        ("optim.trainable=[]", "optim.trainable is empty: nothing would train"),
    ]:
        with pytest.raises(pipir.PipirError, match=message):
            RestorationModule(load_config(CONFIGS / "pipir-tiny-photos.yaml", [*overrides[:-1], wrong]))


@pytest.mark.parametrize("prompts", ["label", "uniform"])
def test_photo_batches_carry_the_label_or_uniform_prompt_weights(prompts, tmp_path):
    from pipir.data.datasets import PHOTO_MARGIN

    overrides = ["data.kind=photos", f"data.images={tmp_path}", "data.patch=32", f"data.prompts={prompts}"]
    config = load_config(None, [*overrides, "sensor.enabled=false"])
    module = RestorationModule(config)
    side = 32 + 2 * PHOTO_MARGIN
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    batch = {
        "window": torch.randint(0, 256, (6, 3, side, side), dtype=torch.uint8),
        "label": labels,
        "position": torch.arange(6),
    }
    weights = module.on_after_batch_transfer(batch, 0)["weights"]
    expected = (
        torch.nn.functional.one_hot(labels, 5).float() if prompts == "label" else torch.full((6, 5), 0.2)
    )
    torch.testing.assert_close(weights, expected)


def test_two_degradations_happen_in_the_physical_order_whichever_is_named_first():
    from pipir.degrade.batch import synthesize

    windows = torch.rand(2, 3, 48, 48, generator=torch.Generator().manual_seed(1))
    noise, haze = pipir.TASKS.index("denoise"), pipir.TASKS.index("dehaze")

    def run(first: int, second: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(7)
        return synthesize(windows, torch.tensor([first, first]), g, second=torch.tensor([second, second]))[0]

    a, b = run(noise, haze), run(haze, noise)
    torch.testing.assert_close(a, b)  # haze, then noise on top, either way round
    single = synthesize(windows, torch.tensor([haze, haze]), torch.Generator().manual_seed(7))[0]
    assert (a[0] - single[0]).abs().mean() > 0.01  # the second degradation is there


def test_mixture_samples_carry_half_weights_for_prompts_and_classifier(tmp_path):
    from pipir.data.datasets import PHOTO_MARGIN

    overrides = ["data.kind=photos", f"data.images={tmp_path}", "data.patch=32", "data.mix_prob=1.0"]
    module = RestorationModule(load_config(None, overrides))
    side = 32 + 2 * PHOTO_MARGIN
    labels = torch.tensor([0, 1, 2, 3, 4, 5])  # five tasks and a clean window
    batch = {
        "window": torch.randint(0, 256, (6, 3, side, side), dtype=torch.uint8),
        "label": labels,
        "position": torch.arange(6),
    }
    out = module.on_after_batch_transfer(batch, 0)
    weights, target = out["weights"], out["label"]
    for i in range(5):  # every degraded sample: its task and another, half each
        assert weights[i, i] == 0.5 and sorted(weights[i].tolist())[-2:] == [0.5, 0.5]
        assert target[i, i] == 0.5 and target[i].sum() == 1 and target[i, 5] == 0
    assert target[5].tolist() == [0, 0, 0, 0, 0, 1] and weights[5].max() == 1  # clean stays clean
    torch.testing.assert_close(out["clean"][5], out["degraded"][5])


def test_photo_scales_add_downscaled_copies_of_every_photo(tmp_path):
    from PIL import Image

    for i, (h, w) in enumerate([(80, 120), (100, 60)]):
        Image.fromarray(np.full((h, w, 3), 40 * i, np.uint8)).save(tmp_path / f"p{i}.png")
    overrides = ["data.kind=photos", f"data.images={tmp_path}", "data.split=null"]
    dataset = build_dataset(load_config(None, [*overrides, "data.scales=[1.0,0.5]"]))
    shapes = sorted(im.shape[:2] for im in dataset.images)
    assert shapes == [(40, 60), (50, 30), (80, 120), (100, 60)]
    assert len(build_dataset(load_config(None, overrides)).images) == 2  # default: as stored
    with pytest.raises(pipir.PipirError, match="data.scales"):
        load_config(None, [*overrides, "data.scales=[1.0,0]"])


def test_frequency_loss_is_zero_for_the_target_and_costs_a_blur_more_than_an_offset():
    """The loss of ``loss.frequency_weight``: 0 for a perfect restore; a blur, which takes the fine
    detail out, costs it relatively more than the same pixel-wise error spread as an offset."""
    clean = torch.rand(2, 3, 32, 32)
    assert frequency_loss(clean, clean) == 0
    blurred = torch.nn.functional.avg_pool2d(clean, 3, stride=1, padding=1, count_include_pad=False)
    offset = clean + (blurred - clean).abs().mean()  # the same mean absolute error, as a flat offset
    l1_blur, l1_offset = (blurred - clean).abs().mean(), (offset - clean).abs().mean()
    torch.testing.assert_close(l1_blur, l1_offset)
    assert frequency_loss(blurred, clean) > 2 * frequency_loss(offset, clean)


def test_a_frequency_weight_adds_the_frequency_loss_to_training(tmp_path):
    steps = ["trainer.max_steps=2", "loss.frequency_weight=0.1", *QUICK]
    config = load_config(None, [*steps, f"output={tmp_path}"])
    fit(config, progress=False)
    rows = list(csv.DictReader((tmp_path / "logs/version_0/metrics.csv").open()))
    assert [float(r["frequency"]) > 0 for r in rows if r.get("frequency")] == [True, True]


class PrecisionSeen(Callback):
    def on_train_batch_start(self, trainer, *args) -> None:
        self.precision = trainer.precision


@pytest.mark.parametrize("native, wanted", [(True, "bf16-mixed"), (False, "32-true")])
def test_precision_auto_trains_in_bf16_where_the_device_computes_it_natively(
    native, wanted, monkeypatch, tmp_path
):
    monkeypatch.setattr(run, "bf16_is_native", lambda device: native)
    assert run.training_precision(TrainerConfig(precision="auto", accelerator="cpu")) == wanted
    assert run.training_precision(TrainerConfig(precision="16-mixed", accelerator="cpu")) == "16-mixed"
    seen = PrecisionSeen()
    overrides = [*QUICK, "trainer.max_steps=1", "trainer.precision=auto", f"output={tmp_path}"]
    fit(load_config(None, overrides), progress=False, callbacks=(seen,))
    assert seen.precision == wanted
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["trainer"]["precision"] == wanted
