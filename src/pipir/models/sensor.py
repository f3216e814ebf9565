"""The degradation classifier ("sensor") for blind restoration: image → K task probabilities.

A small strided CNN with global average *and* standard-deviation pooling: the mean of a feature map
tells brightness and haze apart, its spread tells noise, rain and blur apart. Any input size.
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
        layers: list[nn.Module] = []
        cin = 3
        for i, cout in enumerate(widths):
            layers += [nn.Conv2d(cin, cout, 3, stride=1 if i == 0 else 2, padding=1), nn.GELU()]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(2 * cin, num_tasks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B×K); ``.softmax(-1)`` gives the prompt weights."""
        f = self.features(x)
        pooled = torch.cat([f.mean(dim=(2, 3)), f.std(dim=(2, 3), unbiased=False)], dim=1)
        return self.head(pooled)
