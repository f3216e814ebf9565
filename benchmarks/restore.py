"""Time and peak memory to restore a 12- and a 48-megapixel photo with the default model (tiled).

    python benchmarks/restore.py [--sizes 12 48] [--threads 2] [--tile auto|N] [--modes cli api]
                                 [--precision auto|fp32|bf16] [--name restore]

Each size and mode runs in a fresh process: ``cli`` runs the whole ``pipir restore`` command on a PNG
(load the model, read, restore in place, write the result); ``api`` times ``restorer.restore(image)``
alone, which returns a new array (the caller then holds input and output), in a process without
the command's memory settings (``pipir.launch``: what a library caller gets). Both use ``tile="auto"``
and the default precision unless told (``--precision fp32`` on an AMX CPU: the path a CPU without
native bf16 takes). The process reports its own peak RSS (VmHWM: ``ru_maxrss`` would carry
over the parent's peak from before ``exec``), which includes the ~0.3 GB of torch itself. Also measures bf16
against fp32 on a 512² crop. Writes docs/benchmarks/restore.json and .md (earlier runs: that page's
git history). Targets: 12 MP in ≤ 180 s and ≤ 2 GB on a 2-core CPU; 48 MP peak within 1.2× of 12 MP.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from pipir.hub import DEFAULT_MODEL

try:
    from benchmarks.common import write_report
except ImportError:  # run as a script
    from common import write_report

CHILD = r"""
import json, sys, tempfile, time
if sys.argv[4] == "cli":  # what the pipir command does before torch starts (pipir.launch)
    from pipir.launch import tune_memory
    tune_memory()
import torch
torch.set_num_threads(int(sys.argv[2]))
import pipir
from pipir.io import read_image
def peak_kb():  # this process's own high-water mark (ru_maxrss keeps the parent's across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
tile = sys.argv[3] if sys.argv[3] == "auto" else int(sys.argv[3])
if sys.argv[4] == "cli":  # the whole command, as a user runs it: load, read, restore in place, write
    from pipir.cli import app
    base = peak_kb()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        app(["restore", sys.argv[1], "-o", out, "--tile", sys.argv[3], "--precision", sys.argv[5]],
            standalone_mode=False)
    seconds = time.perf_counter() - start
    extra = {}
else:  # the Python API returning a new array: the caller then holds input and output
    restorer = pipir.load()
    image = read_image(sys.argv[1])
    base = peak_kb()
    start = time.perf_counter()
    result = restorer.restore(image, task="auto", tile=tile, precision=sys.argv[5])
    seconds = time.perf_counter() - start
    extra = {"tile": result.tile, "precision": restorer.resolve_precision(sys.argv[5]), "top": result.top(1)}
print(json.dumps({"seconds": seconds, "peak_kb": peak_kb(), "before_kb": base, **extra}))
"""

PRECISION = r"""
import json, time, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
import pipir
from pipir import degrade
from pipir.data import samples
from pipir.layout import to_batch
from pipir.metrics import psnr
restorer = pipir.load()
image = degrade.apply(degrade.to_float(samples(["astronaut"])["astronaut"]), "noise", seed=0, sigma=25)
x = to_batch(image)
out = {}
for precision in ("fp32", "bf16", "fp32", "bf16"):
    start = time.perf_counter()
    y = restorer.restore_tensor(x, task="denoise", precision=precision, ensemble=1).image
    out.setdefault(precision, []).append(time.perf_counter() - start)
    out[precision + "_image"] = y
print(json.dumps({"runs": 2, "fp32_min_s": min(out["fp32"]), "bf16_min_s": min(out["bf16"]),
                  "psnr_bf16_vs_fp32": psnr(out["bf16_image"], out["fp32_image"]).item()}))
"""


MODES = {
    "cli": "`pipir restore` (load, read, restore in place, write PNG)",
    "api": "`restorer.restore(image)` (new output array)",
}


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
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--name", default="restore", help="report name under docs/benchmarks/")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mp in args.sizes:
            path = Path(tmp) / f"{mp}mp.png"
            width, height = make_photo(path, mp)
            for mode in args.modes:
                result = subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        CHILD,
                        str(path),
                        str(args.threads),
                        args.tile,
                        mode,
                        args.precision,
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                m = json.loads(result.stdout.strip().splitlines()[-1])
                rows.append(
                    {
                        "image": f"{mp} MP ({width}×{height})",
                        "what": MODES[mode],
                        "mode": mode,
                        "seconds": f"{m['seconds']:.1f}",
                        "peak RSS (GB)": f"{m['peak_kb'] / 2**20:.2f}",
                        "RSS before (GB)": f"{m['before_kb'] / 2**20:.2f}",
                        "tile": m.get("tile", args.tile),
                        "precision": m.get("precision", args.precision),
                        "classifier top": str(m.get("top", "")),
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
    ratios = []
    for mode in args.modes:
        peaks = [float(r["peak RSS (GB)"]) for r in rows if r["mode"] == mode]
        ratios.append(f"{MODES[mode]}: {peaks[-1] / peaks[0]:.2f}×")
    ratio = (
        f"Peak ratio {args.sizes[-1]} MP / {args.sizes[0]} MP (target ≤ 1.2×): {'; '.join(ratios)}. "
        if len(args.sizes) > 1
        else ""
    )
    for row in rows:
        del row["mode"]
    notes = (
        f"`python benchmarks/restore.py --threads {args.threads} --tile {args.tile} --sizes "
        f"{' '.join(map(str, args.sizes))} --modes {' '.join(args.modes)}"
        f"{'' if args.precision == 'auto' else ' --precision ' + args.precision}`, "
        f"default model `{DEFAULT_MODEL}`, task auto. {ratio}"
        '"RSS before" is the peak before the timed part (the command: after importing torch; the API: '
        "after loading the model and reading the photo). bf16 against fp32 on the 512² astronaut, whole "
        f"image, the faster of {precision['runs']} interleaved runs each: {precision['fp32_min_s']:.2f} s "
        f"fp32, {precision['bf16_min_s']:.2f} s bf16, "
        f"PSNR(bf16, fp32) = {precision['psnr_bf16_vs_fp32']:.1f} dB."
    )
    write_report(args.name, "Restoring large photos on the CPU (tiled)", rows, list(rows[0]), notes=notes)
    (Path(__file__).resolve().parents[1] / f"docs/benchmarks/{args.name}_precision.json").write_text(
        json.dumps(precision, indent=2) + "\n"
    )


if __name__ == "__main__":
    main()
