"""Classifier modules: PGD, per-sample losses, training steps, mismatch errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lit_interactions.modules import ImageClassifier, SampleLossRecorder, TextClassifier, pgd_attack


def test_pgd_stays_in_the_eps_ball_and_in_pixel_range_and_increases_the_loss() -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    x = torch.rand(8, 3, 2, 2)
    y = torch.randint(0, 3, (8,))
    loss = lambda inputs: F.cross_entropy(model(inputs), y)  # noqa: E731
    adv = pgd_attack(loss, x, eps=4 / 255, alpha=4 / 255, steps=1)
    assert (adv - x).abs().max() <= 4 / 255 + 1e-7
    assert adv.min() >= 0 and adv.max() <= 1
    assert loss(adv) > loss(x)
    # One step from x with alpha = eps moves every pixel by exactly eps unless clipped at 0 or 1 or zero gradient.
    moved = (adv - x).abs()
    interior = (x > 4 / 255) & (x < 1 - 4 / 255)
    assert torch.allclose(moved[interior], torch.full_like(moved[interior], 4 / 255), atol=1e-6)


def test_pgd_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="PGD needs"):
        pgd_attack(lambda x: x.sum(), torch.rand(1, 1, 2, 2), alpha=0)


def test_sample_loss_recorder_averages_over_epochs_and_survives_a_state_round_trip() -> None:
    rec = SampleLossRecorder()
    rec.record(torch.tensor([3, 1]), torch.tensor([1.0, 2.0]))
    rec.record(torch.tensor([2]), torch.tensor([3.0]))
    rec.end_epoch(0)
    rec.record(torch.tensor([1, 2, 3]), torch.tensor([4.0, 5.0, 6.0]))
    rec.end_epoch(1)
    ids, mean = rec.mean_losses()
    assert ids.tolist() == [1, 2, 3]
    assert mean.tolist() == [3.0, 4.0, 3.5]
    restored = SampleLossRecorder()
    restored.load_state_dict(rec.state_dict())
    restored.record(torch.tensor([1, 2, 3]), torch.tensor([0.0, 0.0, 0.0]))
    restored.end_epoch(1)  # a replayed epoch replaces its row instead of duplicating it
    assert restored.epochs == [0, 1]
    assert restored.mean_losses()[1].tolist() == [1.0, 1.5, 0.5]


def test_image_classifier_step_records_clean_per_sample_losses_under_adversarial_training() -> None:
    torch.manual_seed(0)
    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, adversarial=True)
    batch = {"inputs": torch.rand(4, 1, 28, 28), "labels": torch.tensor([0, 1, 0, 1]), "ids": torch.tensor([7, 8, 9, 10])}
    loss, logits, per_sample = module.training_loss(batch)
    module.model.train()
    clean = F.cross_entropy(module.model(batch["inputs"]), batch["labels"], reduction="none")
    assert per_sample.shape == (4,)
    assert loss.requires_grad and not per_sample.requires_grad
    assert loss > per_sample.mean() - 1e-3  # the adversarial loss is not below the clean one
    assert clean.shape == per_sample.shape


def test_default_learning_rates_follow_the_paper() -> None:
    assert ImageClassifier("vgg16").lr == 0.01
    assert ImageClassifier("resnet56").lr == 0.001
    assert TextClassifier("bert_tiny").lr == 0.01
    assert ImageClassifier("resnet20", lr=0.1).lr == 0.1


def test_wrong_model_kind_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="is a text model"):
        ImageClassifier("bert_tiny")
    with pytest.raises(ValueError, match="unknown image model"):
        ImageClassifier("resnet99")
