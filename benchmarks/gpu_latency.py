"""Paper-size forward latency on a CUDA GPU: Restormer against PIP-Restormer (fp32 and bf16).

    python benchmarks/gpu_latency.py

Batch 1, 256², CUDA events; 5 rounds, each the mean of 20 forwards after 5 warm-ups, the models
interleaved. Writes docs/benchmarks/gpu-latency.{json,md} (median and minimum of the rounds, the GPU
named).
"""

from __future__ import annotations

import contextlib
import statistics

import torch

import pipir

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script: benchmarks/ is on the path
    from common import write_report

ROUNDS = 5


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    torch.backends.cudnn.benchmark = True
    x = torch.rand(1, 3, 256, 256, device="cuda")
    w = pipir.task_weights("denoise", batch=1).cuda()
    models = {n: pipir.create_model(n, "paper").cuda().eval() for n in ("restormer", "pip_restormer")}
    times: dict[str, list[float]] = {}
    for precision in ("fp32", "bf16"):
        for _ in range(ROUNDS):
            for name, model in models.items():
                autocast = (
                    torch.autocast("cuda", dtype=torch.bfloat16)
                    if precision == "bf16"
                    else contextlib.nullcontext()
                )
                with torch.inference_mode(), autocast:
                    args = (x, w) if name.startswith("pip") else (x,)
                    for _ in range(5):
                        model(*args)
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    torch.cuda.synchronize()
                    start.record()
                    for _ in range(20):
                        model(*args)
                    end.record()
                    torch.cuda.synchronize()
                times.setdefault(f"{name} {precision}", []).append(start.elapsed_time(end) / 20)
    rows = []
    for key, rounds in times.items():
        name, precision = key.split()
        base = statistics.median(times[f"restormer {precision}"])
        rows.append(
            {
                "model": f"{name} paper",
                "precision": "fp32" if precision == "fp32" else "bf16 autocast",
                "median ms": f"{statistics.median(rounds):.1f}",
                "min ms": f"{min(rounds):.1f}",
                "overhead (medians)": f"{100 * (statistics.median(rounds) / base - 1):+.1f}%",
                "rounds": ROUNDS,
            }
        )
    write_report(
        "gpu-latency",
        f"Paper-size forward latency on {torch.cuda.get_device_name()} (batch 1, 256²)",
        rows,
        list(rows[0]),
        notes=f"`python benchmarks/gpu_latency.py`: {ROUNDS} rounds per model and precision, each the mean "
        "of 20 forwards (CUDA events) after 5 warm-ups, models interleaved; eager, cudnn.benchmark on.",
    )


if __name__ == "__main__":
    main()
