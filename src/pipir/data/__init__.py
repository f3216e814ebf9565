"""Datasets: the standard benchmarks' layouts and pairing rules, synthetic pairs, bundled photos."""

from pipir.data.benchmark import LAYOUT, SETTINGS, benchmark_pairs, check, data_root
from pipir.data.datasets import BenchmarkDataset, SyntheticDataset, center_crop_multiple, dihedral
from pipir.data.fake import write_fake_benchmark
from pipir.data.pairs import RULES, list_images, pair_files
from pipir.data.samples import GREY_NAMES, HELD_OUT, SAMPLE_NAMES, TRAIN, samples

__all__ = [
    "GREY_NAMES",
    "HELD_OUT",
    "LAYOUT",
    "RULES",
    "SAMPLE_NAMES",
    "SETTINGS",
    "TRAIN",
    "BenchmarkDataset",
    "SyntheticDataset",
    "benchmark_pairs",
    "center_crop_multiple",
    "check",
    "data_root",
    "dihedral",
    "list_images",
    "pair_files",
    "samples",
    "write_fake_benchmark",
]
