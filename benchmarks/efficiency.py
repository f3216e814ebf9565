"""Parameters, GMACs and CPU forward latency of the backbones against their PIP models.

Each model is prepared for the CPU as the restore path prepares it (``pipir.device.prepare_model``:
channels-last weights and inputs, per-group convolution parts), so the latencies are what
``pipir restore`` runs; GMACs are counted on the model as written (the same arithmetic).

    python benchmarks/efficiency.py [--variant paper] [--sizes 128 256] [--runs 3] [--threads 2]

Models are interleaved within each run so that drifting machine load hits all of them alike.
Writes docs/benchmarks/efficiency.json and .md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

import pipir
from pipir.device import input_layout, prepare_model
from pipir.models import count_parameters

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report

# label -> (model name, options, the backbone it is compared with)
MODELS: dict[str, tuple[str, dict, str]] = {
    "restormer": ("restormer", {}, "restormer"),
    "pip_restormer": ("pip_restormer", {}, "restormer"),
    "nafnet": ("nafnet", {}, "nafnet"),
    "pip_nafnet": ("pip_nafnet", {}, "nafnet"),
    # Proposal measured beside the paper's design: the prompt's 3×3 conv at S×S, before the resize.
    "pip_restormer conv@S": ("pip_restormer", {"conv_at_prompt_size": True}, "restormer"),
}


def forward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    if isinstance(model, pipir.models.PIPNet):
        return model(x, pipir.task_weights("denoise", batch=x.shape[0]))
    return model(x)


def paired_ratio(times: list[float], base: list[float]) -> float:
    return statistics.median(t / b for t, b in zip(times, base))


def gmacs(model: torch.nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        forward(model, x)
    return counter.get_total_flops() / 2e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="paper")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    models = {
        label: pipir.create_model(name, args.variant, **options).eval()
        for label, (name, options, _) in MODELS.items()
    }
    params = {label: count_parameters(m) for label, m in models.items()}
    rows = []
    cpu = torch.device("cpu")
    counted = {  # on the models as written, before the CPU preparation regroups their convolutions
        size: {label: gmacs(m, torch.rand(1, 3, size, size)) for label, m in models.items()}
        for size in args.sizes
    }
    models = {label: prepare_model(m, cpu) for label, m in models.items()}
    for size in args.sizes:
        x = torch.rand(1, 3, size, size).contiguous(memory_format=input_layout(cpu))
        macs = counted[size]
        times: dict[str, list[float]] = {label: [] for label in models}
        with torch.inference_mode():
            for model in models.values():  # warm-up
                forward(model, x)
            for _ in range(args.runs):
                for label, model in models.items():
                    start = time.perf_counter()
                    forward(model, x)
                    times[label].append(time.perf_counter() - start)
        for label, (_, _, base) in MODELS.items():
            median = statistics.median(times[label])
            rows.append(
                {
                    "model": label,
                    "variant": args.variant,
                    "size": f"{size}²",
                    "params (M)": f"{params[label] / 1e6:.3f}",
                    "params overhead": f"+{100 * (params[label] / params[base] - 1):.2f}%",
                    "GMACs": f"{macs[label]:.2f}",
                    "GMACs overhead": f"+{100 * (macs[label] / macs[base] - 1):.2f}%",
                    "median s": f"{median:.3f}",
                    "min s": f"{min(times[label]):.3f}",
                    # Median of per-run ratios: each run times the model next to its backbone, so
                    # load that drifts over the minutes of a benchmark cancels out.
                    "latency overhead": f"{100 * (paired_ratio(times[label], times[base]) - 1):+.1f}%",
                    "runs": args.runs,
                }
            )
    columns = list(rows[0])
    write_report(
        "efficiency",
        "Efficiency: backbones against their PIP models (CPU, fp32, batch 1, prepared as restore runs them)",
        rows,
        columns,
        notes=f"`python benchmarks/efficiency.py --variant {args.variant} --runs {args.runs} "
        f"--threads {args.threads}`; median and min of {args.runs} interleaved runs after "
        "one warm-up. Overheads are relative to the model's own backbone; the latency overhead is the "
        "median of the per-run time ratios (model and backbone timed back to back). GMACs count only "
        "convolutions and matrix products (torch's FLOP counter): layer norms, the gates, the top-m "
        "sort and the resizes are left out, so the GMACs overhead understates the PIP blocks' "
        "memory-bound work at full resolution. When other processes use the CPU, the same forward pass "
        "varies from run to run: compare the min and median columns.",
    )


if __name__ == "__main__":
    main()
