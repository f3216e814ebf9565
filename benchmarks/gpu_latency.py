"""Paper-size forward latency on a CUDA GPU: Restormer against PIP-Restormer (fp32 and bf16).

    python benchmarks/gpu_latency.py

Batch 1, 256², CUDA events, the best of 3 rounds of 20 forwards after 5 warm-ups. Prints JSON; the
figures of the one run so far (an H200) are in docs/benchmarks/efficiency.md.
"""

from __future__ import annotations

import contextlib
import json

import torch

import pipir


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("this benchmark needs a CUDA GPU")
    torch.backends.cudnn.benchmark = True
    x = torch.rand(1, 3, 256, 256, device="cuda")
    w = pipir.task_weights("denoise", batch=1).cuda()
    models = {n: pipir.create_model(n, "paper").cuda().eval() for n in ("restormer", "pip_restormer")}
    times: dict[str, list[float]] = {}
    for precision in ("fp32", "bf16"):
        for _ in range(3):
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
    out = {k: min(v) for k, v in times.items()}
    for precision in ("fp32", "bf16"):
        out[f"overhead {precision} %"] = 100 * (
            out[f"pip_restormer {precision}"] / out[f"restormer {precision}"] - 1
        )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
