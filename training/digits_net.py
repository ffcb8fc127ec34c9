"""The digits demo's network (docs/models.md): a small CNN in plain torch, 1x8x8 in, 10 logits out.

Kept apart from training/digits.py so that the naive baseline of `make bench` (benchmarks/naive.py)
builds the very same module with nothing but torch.
"""

from torch import Tensor, nn


class DigitsCNN(nn.Module):
    def __init__(self, labels: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, labels)
        )

    def forward(self, pixels: Tensor) -> Tensor:
        return self.classifier(self.features(pixels))
