"""Time and peak memory to restore a 12- and a 48-megapixel photo with the default model (tiled).

    python benchmarks/restore.py [--sizes 12 48] [--threads 2] [--tile auto|N] [--name restore]

Each size runs in a fresh process that reads a PNG and restores it with ``tile="auto"`` and the
default precision; the process reports its own peak RSS (VmHWM: ``ru_maxrss`` would carry over the
parent's peak from before ``exec``), which includes the ~0.3 GB of torch itself. Also measures bf16
against fp32 on a 512² crop. Writes docs/benchmarks/restore.json and .md. Targets: 12 MP in
≤ 120 s and ≤ 4 GB; 48 MP peak within 1.2× of 12 MP.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report

CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(int(sys.argv[2]))
import pipir
from pipir.io import read_image
restorer = pipir.load()
image = read_image(sys.argv[1])
def peak_kb():  # this process's own high-water mark (ru_maxrss keeps the parent's across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = peak_kb()
start = time.perf_counter()
tile = sys.argv[3] if sys.argv[3] == "auto" else int(sys.argv[3])
result = restorer.restore(image, task="auto", tile=tile)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "peak_kb": peak_kb(),
                  "before_restore_kb": base, "tile": result.tile,
                  "precision": restorer.resolve_precision("auto"), "top": result.top(1)}))
"""

PRECISION = r"""
import json, time, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
import pipir
from pipir import degrade
from pipir.data import samples
from pipir.metrics import psnr
restorer = pipir.load()
image = degrade.apply(degrade.to_float(samples(["astronaut"])["astronaut"]), "noise", seed=0, sigma=25)
x = torch.from_numpy(image.transpose(2, 0, 1).copy())[None]
out = {}
for precision in ("fp32", "bf16", "fp32", "bf16"):
    start = time.perf_counter()
    y = restorer.restore_tensor(x, task="denoise", precision=precision)[0]
    out.setdefault(precision, []).append(time.perf_counter() - start)
    out[precision + "_image"] = y
print(json.dumps({"fp32_s": min(out["fp32"]), "bf16_s": min(out["bf16"]),
                  "psnr_bf16_vs_fp32": psnr(out["bf16_image"], out["fp32_image"]).item()}))
"""


def make_photo(path: Path, megapixels: int) -> tuple[int, int]:
    """A noisy photo of the given size (the bundled coffee photo, enlarged), written as PNG."""
    import numpy as np
    from PIL import Image

    from pipir.data import samples

    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = int(width * 3 / 4)
    base = Image.fromarray(samples(["coffee"])["coffee"]).resize((width, height), Image.BICUBIC)
    data = np.asarray(base).astype(np.int16)
    rng = np.random.default_rng(0)
    for row in range(0, height, 512):  # noise in bands: keep this helper's own memory small
        band = data[row : row + 512]
        band += rng.normal(0, 15, band.shape).astype(np.int16)
    Image.fromarray(np.clip(data, 0, 255).astype(np.uint8)).save(path)
    return width, height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 48])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tile", default="auto", help="tile size: auto (the default) or pixels")
    parser.add_argument("--name", default="restore", help="report name under docs/benchmarks/")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.sizes:
            path = Path(tmp) / f"{mp}mp.png"
            width, height = make_photo(path, mp)
            result = subprocess.run(
                [sys.executable, "-c", CHILD, str(path), str(args.threads), args.tile],
                capture_output=True,
                text=True,
                check=True,
            )
            m = json.loads(result.stdout.strip().splitlines()[-1])
            rows.append(
                {
                    "image": f"{mp} MP ({width}×{height})",
                    "seconds": f"{m['seconds']:.1f}",
                    "peak RSS (GB)": f"{m['peak_kb'] / 2**20:.2f}",
                    "RSS before restore (GB)": f"{m['before_restore_kb'] / 2**20:.2f}",
                    "tile": m["tile"],
                    "precision": m["precision"],
                    "classifier top": str(m["top"]),
                }
            )
            path.unlink()
    precision = json.loads(
        subprocess.run(
            [sys.executable, "-c", PRECISION, str(args.threads)], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    peaks = [float(r["peak RSS (GB)"]) for r in rows]
    notes = (
        f"`python benchmarks/restore.py --threads {args.threads} --tile {args.tile}`, default model "
        f"`pipir-tiny`, task auto; earlier runs: `restore-history.md`. "
        f"Peak ratio {peaks[-1] / peaks[0]:.2f}× (target ≤ 1.2×). bf16 against fp32 on the 512² "
        f"astronaut, whole image: {precision['fp32_s']:.2f} s fp32, {precision['bf16_s']:.2f} s bf16, "
        f"PSNR(bf16, fp32) = {precision['psnr_bf16_vs_fp32']:.1f} dB."
    )
    write_report(args.name, "Restoring large photos on the CPU (tiled)", rows, list(rows[0]), notes=notes)
    (Path(__file__).resolve().parents[1] / f"docs/benchmarks/{args.name}_precision.json").write_text(
        json.dumps(precision, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
