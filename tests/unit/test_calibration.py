"""Temperature scaling and the expected calibration error of training/: the maths on known cases."""

import pytest
import torch

from training.common import expected_calibration_error
from training.train import bake_temperature, fit_temperature


def test_the_calibration_error_is_zero_when_confidence_matches_accuracy():
    # Four answers at 0.75 confidence, three right: calibrated.
    probabilities = torch.tensor([[0.75, 0.25]] * 4)
    assert expected_calibration_error(probabilities, torch.tensor([0, 0, 0, 1])) == pytest.approx(0.0, abs=1e-6)


def test_the_calibration_error_is_the_gap_weighted_by_each_bins_share_of_lines():
    # Two lines at 0.9 (one right: gap 0.4) and two at 0.6 (both right: gap 0.4), in two bins.
    probabilities = torch.tensor([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.6, 0.4]])
    assert expected_calibration_error(probabilities, torch.tensor([0, 1, 0, 0])) == pytest.approx(0.4)
    # Overconfident and wrong throughout: the error is the mean confidence.
    assert expected_calibration_error(probabilities, torch.tensor([1, 1, 1, 1])) == pytest.approx(0.75)


def test_fit_temperature_recovers_the_temperature_that_made_logits_overconfident():
    generator = torch.Generator().manual_seed(0)
    true_logits = torch.randn(4000, 10, generator=generator) * 2
    targets = torch.multinomial(true_logits.softmax(dim=1), 1, generator=generator).squeeze(1)
    # Labels drawn from softmax(true_logits): logits 3x too sharp need T = 3 to be calibrated again.
    assert fit_temperature(true_logits * 3, targets) == pytest.approx(3.0, rel=0.1)
    assert fit_temperature(true_logits / 2, targets) == pytest.approx(0.5, rel=0.1)


def test_baking_the_temperature_divides_the_logits_and_keeps_every_answer():
    head = torch.nn.Linear(8, 10)
    model = torch.nn.Module()
    model.classifier = head
    features = torch.randn(5, 8)
    before = head(features).detach()
    bake_temperature(model, 2.5)
    after = head(features).detach()
    torch.testing.assert_close(after, before / 2.5)
    assert torch.equal(after.argmax(dim=1), before.argmax(dim=1))
