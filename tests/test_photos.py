"""Real photos: the offline sources' readers, the fetch pipeline on a local package, the committed split."""

import collections
import io
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pipir
from pipir.data import photos
from pipir.data.photos import Source


def rcc_bundle(files: dict[str, bytes], compress: set[str]) -> bytes:
    """A version-1 Qt resource bundle: root → folder "res" → the files (zlib where asked)."""
    names = [("res", 0)] + [(n, 0) for n in files]
    name_table, offsets = b"", []
    for name, _ in names:
        offsets.append(len(name_table))
        encoded = name.encode("utf-16-be")
        name_table += struct.pack(">HI", len(name), 0) + encoded
    payload, data_offsets = b"", []
    for name, blob in files.items():
        data_offsets.append(len(payload))
        stored = struct.pack(">I", len(blob)) + zlib.compress(blob) if name in compress else blob
        payload += struct.pack(">I", len(stored)) + stored
    tree = struct.pack(">IHII", 0, 2, 1, 1)  # root: one child, node 1
    tree += struct.pack(">IHII", offsets[0], 2, len(files), 2)  # "res": files from node 2
    for i, name in enumerate(files):
        flags = 1 if name in compress else 0
        tree += struct.pack(">IHHHI", offsets[i + 1], flags, 0, 0, data_offsets[i])
    header_size = 20
    tree_at = header_size
    names_at = tree_at + len(tree)
    data_at = names_at + len(name_table)
    header = b"qres" + struct.pack(">IIII", 1, tree_at, data_at, names_at)
    return header + tree + name_table + payload


def jpeg_bytes(size, colour):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_rcc_reader_finds_plain_and_compressed_files():
    files = {"a.webp": b"plain bytes", "b.txt": b"x" * 100}
    entries = photos.rcc_entries(rcc_bundle(files, compress={"b.txt"}))
    assert entries == {"res/a.webp": b"plain bytes", "res/b.txt": b"x" * 100}
    with pytest.raises(pipir.PipirError, match="qres"):
        photos.rcc_entries(b"nope" + bytes(20))


def test_largest_embedded_jpeg_is_found_among_other_bytes():
    small, large = jpeg_bytes((8, 8), "red"), jpeg_bytes((64, 48), "blue")
    blob = b"header" + small + b"\x00junk\xff" + large + b"trailer"
    found = Image.open(io.BytesIO(photos.largest_jpeg(blob)))
    assert found.size == (64, 48)


def test_fetch_unpacks_a_cached_package_normalises_and_indexes(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (2000, 3000, 3), dtype=np.uint8))
    with zipfile.ZipFile(cache / "fakepkg-1.0-py3-none-any.whl", "w") as z:
        for name, image in (("fakepkg/big.png", big), ("fakepkg/small.jpg", big.resize((300, 200)))):
            buffer = io.BytesIO()
            image.save(buffer, format="PNG" if name.endswith("png") else "JPEG")
            z.writestr(name, buffer.getvalue())
        z.writestr("fakepkg/notes.txt", "not a photo")
    source = Source("fake", "pip:fakepkg==1.0", "MIT", ("fakepkg/*.png", "fakepkg/*.jpg"))
    rows = photos.fetch(tmp_path / "out", cache, sources=(source,), log=lambda m: None)
    assert [r["name"] for r in rows] == ["fake/big", "fake/small"]
    assert Image.open(tmp_path / "out/fake/big.png").size == (photos.MAX_SIDE, round(photos.MAX_SIDE * 2 / 3))
    assert Image.open(tmp_path / "out/fake/small.png").size == (300, 200)
    index = (tmp_path / "out/photos.tsv").read_text().splitlines()
    assert index[0].startswith("name\tsource\tlicence") and index[1].startswith("fake/big\tpip:fakepkg")
    empty = Source("fake2", "pip:fakepkg==1.0", "MIT", ("fakepkg/*.gif",))
    with pytest.raises(pipir.PipirError, match="none of the photos"):
        photos.fetch(tmp_path / "out", cache, sources=(empty,), log=lambda m: None)


def test_download_into_a_relative_folder_lands_there(tmp_path, monkeypatch):
    """``pip download -d DIR`` runs with ``cwd=DIR``: a relative DIR must not be read from inside itself."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data/.packages").mkdir(parents=True)

    def fake_pip(command, cwd, **kwargs):
        target = Path(cwd) / command[command.index("-d") + 1]  # as the child process resolves it
        target.mkdir(parents=True, exist_ok=True)
        (target / "fakepkg-1.0-py3-none-any.whl").write_bytes(b"wheel")
        return subprocess.CompletedProcess(command, 0, "", "")

    got = photos._download("pip:fakepkg==1.0", Path("data/.packages"), run=fake_pip)
    assert got == (tmp_path / "data/.packages/fakepkg-1.0-py3-none-any.whl") and got.is_file()
    assert photos._download("pip:fakepkg==1.0", Path("data/.packages"), run=None) == got  # cached


def test_committed_split_is_fixed_disjoint_and_spans_the_sources():
    split = photos.read_split()
    counts = collections.Counter(split.values())
    assert counts == {"train": 190, "validation": 40, "test": 40}
    assert not any("mate" in name for name in split)  # mate-backgrounds is reserved elsewhere
    sources = {s: {n.split("/")[0] for n, v in split.items() if v == s} for s in photos.SPLITS}
    assert len(sources["train"]) >= 20 and len(sources["validation"]) >= 8 and len(sources["test"]) >= 8
    # the list is what make_split gives for its names: re-running it cannot silently move photos
    assert photos.make_split(list(split)) == split


def test_photo_files_names_what_is_missing(tmp_path):
    names = sorted(n for n, s in photos.read_split().items() if s == "validation")
    with pytest.raises(pipir.PipirError, match="holds none of the validation photos"):
        photos.photo_files(tmp_path, "validation")
    for i, name in enumerate(names):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 30), (i, 0, 0)).save(tmp_path / f"{name}{'.png' if i % 2 else '.jpg'}")
    assert len(photos.photo_files(tmp_path, "validation")) == len(names)
    (tmp_path / f"{names[1]}.png").unlink()
    with pytest.raises(pipir.PipirError, match=f"lacks 1 of the {len(names)} validation photos"):
        photos.photo_files(tmp_path, "validation")
    with pytest.raises(pipir.PipirError, match="split must be one of"):
        photos.photo_files(tmp_path, "everything")


def test_pack_writes_small_jpegs_under_the_same_names(tmp_path):
    names = sorted(n for n, s in photos.read_split().items() if s == "test")
    for name in names:
        (tmp_path / "src" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (1000, 500), "green").save(tmp_path / "src" / f"{name}.png")
    count, size = photos.pack(tmp_path / "src", tmp_path / "pack", "test", side=200)
    packed = photos.photo_files(tmp_path / "pack", "test")
    assert len(packed) == len(names) and all(p.suffix == ".jpg" for p in packed)
    assert count == len(names) and size == sum(p.stat().st_size for p in packed)
    assert Image.open(packed[0]).size == (200, 100)


def split_photos(folder: Path, which: str, size=(500, 375)) -> list[str]:
    """Random-pixel PNGs under the names of one split; returns the names."""
    names = sorted(n for n, s in photos.read_split().items() if s == which)
    rng = np.random.default_rng(0)
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{name}.png")
    return names


def test_lossless_pack_holds_the_pixels_evaluation_reads(tmp_path):
    names = split_photos(tmp_path / "src", "validation")
    photos.pack(tmp_path / "src", tmp_path / "pack", "validation", side=320, lossless=True)
    packed = photos.photo_files(tmp_path / "pack", "validation")
    assert len(packed) == len(names) and all(p.suffix == ".png" for p in packed)
    for name in names[:3]:
        with (
            Image.open(tmp_path / "src" / f"{name}.png") as full,
            Image.open(tmp_path / "pack" / f"{name}.png") as small,
        ):
            expected = np.asarray(photos.normalise(full, max_side=320))
            # evaluation downscales what it reads to --size: a no-op on the packed copy
            assert np.array_equal(np.asarray(photos.normalise(small, max_side=320)), expected)


def test_data_pack_command_writes_a_split_and_refuses_bad_input(tmp_path):
    names = split_photos(tmp_path / "src", "test", size=(100, 80))
    result = run_cli(
        "data", "pack", str(tmp_path / "src"), str(tmp_path / "pack"), "--split", "test", "--side", "50"
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(names)} test photos in" in result.stdout
    assert Image.open(photos.photo_files(tmp_path / "pack", "test")[0]).size == (50, 40)
    (tmp_path / "src" / f"{names[-1]}.png").unlink()
    bad = [
        (["--split", "everything"], "split must be one of"),
        (["--split", "test"], f"lacks 1 of the {len(names)} test photos"),
        (["--split", "test", "--side", "0"], "long side must be at least 1 pixel"),
    ]
    for args, message in bad:
        result = run_cli("data", "pack", str(tmp_path / "src"), str(tmp_path / "out"), *args)
        assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1
        assert not (tmp_path / "out").exists()  # nothing half-written


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "pipir.cli", *args], capture_output=True, text=True)
