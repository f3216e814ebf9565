"""The degradation classifier ("sensor") for blind restoration: image → K task probabilities.

A small strided CNN whose every stage is summarised by the mean and the standard deviation of its
feature maps over the image: early stages give the low-level statistics that separate the tasks
(brightness for low light, contrast for haze, high-frequency energy for noise and blur), later ones
the structures (oriented streaks for rain). Any input size.
"""

from __future__ import annotations

import torch
from torch import nn

from pipir.models.pip import TASKS


class DegradationSensor(nn.Module):
    def __init__(self, num_tasks: int = len(TASKS), width: int = 32) -> None:
        super().__init__()
        self.width, self.num_tasks = width, num_tasks
        widths = [width, width, width * 2, width * 2, width * 4]
        self.stages = nn.ModuleList()
        cin = 3
        for i, cout in enumerate(widths):
            self.stages.append(
                nn.Sequential(nn.Conv2d(cin, cout, 3, stride=1 if i == 0 else 2, padding=1), nn.GELU())
            )
            cin = cout
        self.head = nn.Sequential(
            nn.Linear(2 * sum(widths), 4 * width), nn.GELU(), nn.Linear(4 * width, num_tasks)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B×K); ``.softmax(-1)`` gives the prompt weights."""
        pooled = []
        for stage in self.stages:
            x = stage(x)
            pooled += [x.mean(dim=(2, 3)), x.std(dim=(2, 3), unbiased=False)]
        return self.head(torch.cat(pooled, dim=1))
