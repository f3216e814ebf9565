"""Run by test_train.py under torchrun: trains a few steps with DDP on CPU (gloo) and saves, per
rank, the final parameters and the stream positions that rank trained on."""

import sys
from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback

from pipir.train import fit, load_config


class RecordPositions(Callback):
    def __init__(self) -> None:
        self.positions: list[int] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
        self.positions += batch["position"].tolist()

    def on_train_end(self, trainer, module) -> None:
        out = Path(sys.argv[1]) / f"rank{trainer.global_rank}.pt"
        torch.save({"state": module.state_dict(), "positions": self.positions}, out)


if __name__ == "__main__":
    torch.set_num_threads(1)
    config = load_config(
        None,
        [
            f"output={sys.argv[1]}/run",
            "trainer.max_steps=3",
            "trainer.batch_size=2",
            "trainer.accelerator=cpu",
            "trainer.devices=2",
            "trainer.strategy=ddp",
            "trainer.checkpoint_every=100",
            "data.patch=32",
        ],
    )
    fit(config, progress=False, callbacks=(RecordPositions(),))
