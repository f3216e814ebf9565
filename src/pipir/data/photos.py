"""Real photographs for training and evaluation, installed offline from Debian packages and PyPI wheels.

``fetch(dest)`` downloads the packages listed in ``SOURCES`` (``apt-get download``, ``pip download``:
the two registries this project may reach), unpacks them, picks the photographs out (globs, Qt
resource bundles, images embedded in Enlightenment themes), downscales each so its long side is at
most ``MAX_SIDE`` (which also averages away most of the sources' own JPEG noise, so the clean
targets are clean), and writes ``<dest>/<source>/<name>.png`` plus ``<dest>/photos.tsv`` (name,
source, licence, size). ``photo_files(dest, "train")`` lists one split by the committed ``photo_split.tsv``.

The Debian package ``mate-backgrounds`` is reserved as an independent test set and never used here.
"""

from __future__ import annotations

import fnmatch
import io
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from pipir.errors import PipirError

MAX_SIDE = 1600
SPLIT_FILE = Path(__file__).with_name("photo_split.tsv")
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Source:
    name: str  # folder name under dest
    package: str  # Debian package, or "pip:NAME==VERSION"
    licence: str
    patterns: tuple[str, ...]  # globs inside the unpacked package
    exclude: tuple[str, ...] = ()  # fnmatch patterns on the file name
    scale: float = 1.0  # extra downscale (strongly compressed sources)
    reader: str = "file"  # file | rcc | edj | rawbz2
    min_bytes: int = 0  # rcc: smaller entries are icons, not photos
    extra: dict = field(default_factory=dict, compare=False, hash=False)


_DOC = "usr/share/doc/opencv-doc/examples"
_GC = "gcompris/src/activities"
SOURCES: tuple[Source, ...] = (
    Source(
        "gcompris",
        "gcompris-qt-data",
        "GPL-3+ / CC-BY(-SA) / public domain, per file",
        tuple(
            f"usr/share/gcompris-qt/rcc/{a}.rcc"
            for a in (
                "erase",
                "clickgame",
                "explore_farm_animals",
                "explore_world_animals",
                "explore_monuments",
                "explore_world_music",
            )
        ),
        scale=0.5,
        reader="rcc",
        min_bytes=45_000,
    ),
    Source(
        "scratch",
        "scratch",
        "CC-BY-SA-3.0",
        (
            "usr/share/scratch/Media/Backgrounds/Nature/*.jpg",
            "usr/share/scratch/Media/Backgrounds/Outdoors/*.jpg",
            "usr/share/scratch/Media/Backgrounds/Sports/*.jpg",
        ),
        exclude=("*mural*", "graffiti*", "chalkboard*"),
    ),
    Source(
        "opencv",
        "opencv-doc",
        "Apache-2.0 / BSD-3-Clause",
        tuple(
            f"{_DOC}/data/{n}"
            for n in (
                "aero1.jpg",
                "aero3.jpg",
                "aloeL.jpg",
                "apple.jpg",
                "baboon.jpg",
                "board.jpg",
                "building.jpg",
                "butterfly.jpg",
                "fruits.jpg",
                "home.jpg",
                "leuvenA.jpg",
                "messi5.jpg",
                "orange.jpg",
                "squirrel_cls.jpg",
                "stuff.jpg",
                "chicky_512.png",
                "graf1.png",
                "rubberwhale1.png",
            )
        )
        + (f"{_DOC}/text/scenetext0*.jpg",),
    ),
    Source(
        "kphotoalbum", "kphotoalbum", "GPL-2+", ("usr/share/kphotoalbum/demo/*.jpg",), exclude=("qt-logo*",)
    ),
    Source(
        "enlightenment",
        "enlightenment-data",
        "BSD-2-Clause",
        tuple(
            f"usr/share/enlightenment/data/backgrounds/{n}.edj"
            for n in (
                "Bamboo",
                "Foggy-Trees",
                "God-Rays",
                "Green-Maple",
                "Lichen-Branches",
                "Mountain",
                "Peaks",
                "Red-Maple",
                "Sea-of-Lanterns",
                "Snow-Trees",
                "Spruce-Needles",
                "Sunset-Clouds",
                "Sunset-Hills",
                "White-Flower",
                "Yellow-Flower",
            )
        ),
        reader="edj",
    ),
    Source(
        "lomiri16",
        "lomiri-wallpapers-16.04",
        "CC-BY-4.0 / CC-BY-SA / CC0, per file",
        ("usr/share/backgrounds/*.jpg",),
        exclude=("umang*", "analogpattern*"),
    ),
    Source(
        "lomiri20",
        "lomiri-wallpapers-20.04",
        "CC-BY-4.0 / CC-BY-SA / CC0, per file",
        ("usr/share/backgrounds/*.jpg",),
        exclude=("Painting-Colors*",),
    ),
    Source(
        "lxqt",
        "lxqt-themes",
        "LGPL-2.1+",
        tuple(
            f"usr/share/lxqt/wallpapers/{n}"
            for n in (
                "Butterfly-Kenneth-Wimer.jpg",
                "Valendas.png",
                "after-the-rain.jpg",
                "appleflower.png",
                "beam.png",
                "butterfly.png",
                "cloud.png",
                "drop.png",
                "flowers.png",
                "fog.jpg",
                "this-is-not-windows.jpg",
            )
        ),
    ),
    Source(
        "plasma",
        "plasma-workspace-wallpapers",
        "GPL-2+",
        tuple(
            f"usr/share/wallpapers/{n}/contents/images/*"
            for n in (
                "BytheWater",
                "ColdRipple",
                "DarkestHour",
                "EveningGlow",
                "FallenLeaf",
                "Grey",
                "Kite",
                "OneStandsOut",
                "Path",
                "summer_1am",
            )
        ),
        extra={"largest_per_folder": True},
    ),
    Source(
        "scribus",
        "scribus-template",
        "public domain",
        (
            "usr/share/scribus/templates/br2/*.jpg",
            "usr/share/scribus/templates/cal2/moon.jpg",
            "usr/share/scribus/templates/menu2/pizza.jpg",
        ),
    ),
    Source("palapeli", "palapeli-data", "GPL-2+", ("usr/share/palapeli/collection/*.jpg",)),
    Source(
        "libjxl",
        "libjxl-testdata",
        "BSD-3-Clause / CC0",
        (
            "usr/share/libjxl-testdata/jxl/flower/flower.png",
            "usr/share/libjxl-testdata/external/wesaturate/500px/*_srgb8.png",
        ),
    ),
    Source("jigsaw", "puzzle-jigsaw", "CC0", ("usr/share/puzzle-jigsaw/samples/*",)),
    Source("digikam", "digikam-data", "GPL-2+", ("usr/share/digikam/about/images/body-background.jpg",)),
    Source("maldives", "sddm-theme-maldives", "GPL-2+", ("usr/share/sddm/themes/maldives/background.jpg",)),
    Source("cimg", "cimg-examples", "CeCILL-C", ("usr/share/doc/cimg-dev/examples/img/parrot.ppm",)),
    Source(
        "skimage",
        "pip:scikit-image==0.26.0",
        "BSD-3-Clause / CC0, per file",
        tuple(
            f"skimage/data/{n}"
            for n in (
                "astronaut.png",
                "chelsea.png",
                "coffee.png",
                "rocket.jpg",
                "motorcycle_left.png",
            )
        ),
    ),
    Source(
        "sporco",
        "pip:sporco==0.2.2.post1",
        "BSD-3-Clause",
        tuple(f"sporco/data/{n}.png" for n in ("barbara", "kodim23", "monarch", "sail", "tulips")),
    ),
    Source(
        "sklearn",
        "pip:scikit-learn==1.9.1",
        "BSD-3-Clause",
        ("sklearn/datasets/images/china.jpg", "sklearn/datasets/images/flower.jpg"),
    ),
    Source(
        "matplotlib", "pip:matplotlib==3.11.2", "PSF", ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",)
    ),
    Source("imgaug", "pip:imgaug==0.4.0", "MIT", ("imgaug/quokka.jpg",)),
    Source("scipy", "pip:scipy==1.11.4", "BSD-3-Clause", ("scipy/misc/face.dat",), reader="rawbz2"),
)


# --- readers: (path to an unpacked file) -> named photos -----------------------------------------


def rcc_entries(data: bytes) -> dict[str, bytes]:
    """Files of a Qt resource bundle (``.rcc``): a header ``qres`` + version and the offsets of a
    tree of 14- or 22-byte nodes, a table of UTF-16 names and a table of (optionally zlib) payloads."""
    if data[:4] != b"qres":
        raise PipirError("not a Qt resource bundle (no 'qres' header)")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    node = 14 if version == 1 else 22
    out: dict[str, bytes] = {}
    stack = [(0, "")]
    while stack:
        index, prefix = stack.pop()
        base = tree + index * node
        name_offset, flags = struct.unpack(">IH", data[base : base + 6])
        (length,) = struct.unpack(">H", data[names + name_offset : names + name_offset + 2])
        start = names + name_offset + 6
        name = data[start : start + 2 * length].decode("utf-16-be") if index else ""
        path = f"{prefix}{name}"
        if flags & 2:  # directory: (count, first child)
            count, first = struct.unpack(">II", data[base + 6 : base + 14])
            stack += [(c, f"{path}/" if index else "") for c in range(first, first + count)]
            continue
        (offset,) = struct.unpack(">I", data[base + 10 : base + 14])
        (size,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
        blob = data[payload + offset + 4 : payload + offset + 4 + size]
        if flags & 4:  # zstd: not used by the bundles we read
            continue
        out[path] = zlib.decompress(blob[4:]) if flags & 1 else blob
    return out


def largest_jpeg(data: bytes) -> bytes:
    """The largest JPEG stream (``FF D8 FF`` … ``FF D9``) embedded in a file."""
    best, start = b"", data.find(b"\xff\xd8\xff")
    while start >= 0:
        end = data.find(b"\xff\xd9", start)
        while end >= 0:
            candidate = data[start : end + 2]
            try:
                Image.open(io.BytesIO(candidate)).verify()
                break
            except Exception:
                end = data.find(b"\xff\xd9", end + 2)
        if end >= 0 and end + 2 - start > len(best):
            best = data[start : end + 2]
        start = data.find(b"\xff\xd8\xff", start + 3 if end < 0 else end + 2)
    return best


def _read(source: Source, path: Path) -> Iterator[tuple[str, Image.Image]]:
    if source.reader == "file":
        yield path.stem, Image.open(path)
    elif source.reader == "edj":
        yield path.stem, Image.open(io.BytesIO(largest_jpeg(path.read_bytes())))
    elif source.reader == "rawbz2":
        import bz2

        raw = np.frombuffer(bz2.decompress(path.read_bytes()), np.uint8)
        yield path.stem, Image.fromarray(raw.reshape(768, 1024, 3))
    elif source.reader == "rcc":
        for name, blob in sorted(rcc_entries(path.read_bytes()).items()):
            if name.lower().endswith((".webp", ".jpg", ".jpeg")) and len(blob) >= source.min_bytes:
                yield f"{path.stem}-{Path(name).stem}", Image.open(io.BytesIO(blob))
    else:
        raise PipirError(f"unknown photo reader {source.reader!r}")


def normalise(image: Image.Image, scale: float = 1.0, max_side: int = MAX_SIDE) -> Image.Image:
    """RGB, downscaled (Lanczos) by ``scale`` and then to at most ``max_side`` on the long side."""
    from PIL import ImageOps

    image = ImageOps.exif_transpose(image).convert("RGB")
    factor = min(scale, max_side / max(image.size))
    if factor < 1:
        size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def rescaled(image: np.ndarray, factors: list[float]) -> list[np.ndarray]:
    """A uint8 photo at each of ``factors`` (1.0: itself), downscaled as :func:`normalise` does."""
    side = max(image.shape[:2])
    return [
        image if f >= 1 else np.asarray(normalise(Image.fromarray(image), f, max_side=side)) for f in factors
    ]


# --- fetching ---------------------------------------------------------------------------------------


def _download(package: str, into: Path, run: Callable = subprocess.run) -> Path:
    """Download one package into ``into`` (a Debian .deb, or a wheel), return the file."""
    into = into.resolve()  # the command runs in ``into``: a relative -d would be read from there
    before = set(into.iterdir())
    if package.startswith("pip:"):
        command = [
            "python3",
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(into),
            package[4:],
        ]
        spec = package[4:].split("==")[0]
    else:
        command, spec = ["apt-get", "download", package], package
    existing = [
        p for p in before if p.name.lower().replace("-", "_").startswith(spec.lower().replace("-", "_"))
    ]
    if existing:
        return existing[0]
    result = run(command, cwd=into, capture_output=True, text=True)
    new = set(into.iterdir()) - before
    if result.returncode != 0 or not new:
        message = (result.stderr or result.stdout).strip().splitlines()
        raise PipirError(f"could not download {package}: {message[-1] if message else 'no file'}")
    return new.pop()


def _unpack(archive: Path, into: Path) -> None:
    if archive.suffix == ".deb":
        subprocess.run(["dpkg-deb", "-x", str(archive), str(into)], check=True)
    else:
        with zipfile.ZipFile(archive) as z:
            z.extractall(into)


def _matches(source: Source, root: Path) -> list[Path]:
    found: list[Path] = []
    for pattern in source.patterns:
        hits = sorted(p for p in root.glob(pattern) if p.is_file())
        hits = [p for p in hits if not any(fnmatch.fnmatch(p.name, e) for e in source.exclude)]
        if source.extra.get("largest_per_folder") and hits:
            hits = [max(hits, key=lambda p: p.stat().st_size)]
        found += hits
    return found


def fetch(
    dest: str | Path,
    cache: str | Path | None = None,
    sources: tuple[Source, ...] = SOURCES,
    log: Callable[[str], None] = print,
) -> list[dict]:
    """Download, unpack and normalise every source's photos into ``dest``; return the index rows.

    Packages are kept in ``cache`` (default ``<dest>/.packages``) so a second run downloads nothing.
    Photos already written are kept as they are."""
    dest = Path(dest)
    cache = Path(cache) if cache else dest / ".packages"
    cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for source in sources:
        archive = _download(source.package, cache)
        with tempfile.TemporaryDirectory() as tmp:
            _unpack(archive, Path(tmp))
            files = _matches(source, Path(tmp))
            if not files:
                raise PipirError(f"{source.package} holds none of the photos expected in it")
            count = 0
            for path in files:
                for name, image in _read(source, path):
                    out = dest / source.name / f"{name}.png"
                    if not out.exists():
                        out.parent.mkdir(parents=True, exist_ok=True)
                        photo = normalise(image, source.scale)
                        photo.save(out.with_suffix(".tmp.png"))
                        out.with_suffix(".tmp.png").rename(out)
                    with Image.open(out) as im:
                        size = im.size
                    if any(r["name"] == f"{source.name}/{name}" for r in rows):
                        continue  # the same photo under two folders of one package
                    rows.append(
                        {
                            "name": f"{source.name}/{name}",
                            "source": source.package,
                            "licence": source.licence,
                            "width": size[0],
                            "height": size[1],
                        }
                    )
                    count += 1
        log(f"{source.name}: {count} photos from {source.package}")
    index = "name\tsource\tlicence\twidth\theight\n" + "".join(
        f"{r['name']}\t{r['source']}\t{r['licence']}\t{r['width']}\t{r['height']}\n" for r in rows
    )
    (dest / "photos.tsv").write_text(index)
    return rows


# --- the split --------------------------------------------------------------------------------------


def read_split(path: str | Path = SPLIT_FILE) -> dict[str, str]:
    """``{photo name: split}`` from the committed list."""
    table = {}
    for line in Path(path).read_text().splitlines()[1:]:
        if line.strip():
            name, which = line.split("\t")[:2]
            table[name] = which
    return table


def make_split(names: list[str], seed: int = 0, shares: tuple[float, float] = (0.15, 0.15)) -> dict[str, str]:
    """Assign photos to splits once, per source (so every source is in every split where it can be):
    a seeded shuffle, then ``shares`` of each source to validation and test. Used to write
    ``photo_split.tsv``; never re-run on a committed list."""
    rng = np.random.default_rng(seed)
    by_source: dict[str, list[str]] = {}
    for name in sorted(names):
        by_source.setdefault(name.split("/")[0], []).append(name)
    table = {}
    for group in by_source.values():
        order = [group[i] for i in rng.permutation(len(group))]
        n_val = round(len(order) * shares[0])
        n_test = round(len(order) * shares[1])
        for i, name in enumerate(order):
            table[name] = "validation" if i < n_val else "test" if i < n_val + n_test else "train"
    return table


def photo_files(folder: str | Path, which: str | None = None) -> list[Path]:
    """The photos of ``folder``: one split of the committed list when ``which`` is given (PNG or
    JPEG files under their listed names, as ``fetch`` and ``pack`` write them), else every image."""
    from pipir.data.pairs import list_images

    folder = Path(folder)
    if which is None:
        return list_images(folder, recursive=True)
    if which not in SPLITS:
        raise PipirError(f"split must be one of {', '.join(SPLITS)}, not {which!r}")
    names = sorted(n for n, s in read_split().items() if s == which)
    candidates = [(folder / f"{n}.png", folder / f"{n}.jpg") for n in names]
    found = [next((p for p in pair if p.is_file()), None) for pair in candidates]
    missing = [n for n, p in zip(names, found) if p is None]
    if len(missing) == len(names):
        raise PipirError(
            f"{folder} holds none of the {which} photos: fetch them with 'pipir data photos {folder}'"
        )
    if missing:
        raise PipirError(
            f"{folder} lacks {len(missing)} of the {len(names)} {which} photos, e.g. {missing[0]}"
        )
    return [p for p in found if p is not None]


def pack(
    folder: str | Path,
    out: str | Path,
    which: str = "train",
    side: int = 768,
    quality: int = 95,
    lossless: bool = False,
) -> tuple[int, int]:
    """Copy one split downscaled to ``side`` pixels on the long side as JPEG (4:4:4, ``quality``),
    or as PNG where ``lossless``: the small bundle a remote GPU trains from (190 training photos:
    ~30 MB), or evaluates on (a split packed losslessly at the side ``pipir eval --size`` uses
    gives that evaluation the same pixels as the full photos). Returns (photos, bytes) written."""
    if side < 1:
        raise PipirError(f"the long side must be at least 1 pixel, not {side}")
    sources = photo_files(folder, which)  # every photo is there before anything is written
    total = 0
    for path in sources:
        target = Path(out) / path.relative_to(folder).with_suffix(".png" if lossless else ".jpg")
        target.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as image:
            small = normalise(image, max_side=side)
        if lossless:
            small.save(target)
        else:
            small.save(target, quality=quality, subsampling=0)
        total += target.stat().st_size
    return len(sources), total
