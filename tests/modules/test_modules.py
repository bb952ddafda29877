"""Classifier modules: PGD, per-sample losses, training steps, mismatch errors."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lit_interactions.modules import (
    AdversarialTraining,
    ImageClassifier,
    SampleLossRecorder,
    TextClassifier,
    pgd_attack,
)


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


def test_sample_loss_recorder_keeps_samples_first_seen_in_a_later_epoch() -> None:
    rec = SampleLossRecorder()
    rec.record(torch.tensor([5, 2]), torch.tensor([1.0, 2.0]))  # a partial first epoch
    rec.end_epoch(0)
    rec.record(torch.tensor([2, 9, 7]), torch.tensor([4.0, 3.0, 6.0]))
    rec.end_epoch(1)
    ids, mean = rec.mean_losses()
    assert ids.tolist() == [2, 5, 7, 9]
    assert mean.tolist() == [3.0, 1.0, 6.0, 3.0]
    assert torch.isnan(rec.losses[0][2:]).all() and rec.losses[1][1].isnan()


def test_adversarial_step_updates_batch_norm_statistics_once_and_records_the_clean_loss() -> None:
    torch.manual_seed(0)
    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, adversarial=AdversarialTraining())
    initial = copy.deepcopy(module.model).train()
    inputs, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 1, 0, 1])
    module.train()
    _, _, per_sample = module.training_loss({"inputs": inputs, "labels": labels, "ids": torch.arange(4)})
    assert int(module.model.bn1.num_batches_tracked) == 1  # the clean and attack passes left no trace

    # Train-mode outputs do not depend on running statistics, so the same attack on a copy of the initial model
    # gives the same adversarial batch; one forward of it must leave exactly the module's statistics.
    attacker = copy.deepcopy(initial)
    clean = F.cross_entropy(attacker(inputs), labels, reduction="none")
    assert torch.allclose(per_sample, clean, atol=1e-6)
    adv = pgd_attack(lambda x: F.cross_entropy(attacker(x), labels), inputs)
    initial(adv)
    for trained, expected in ((module.model.bn1, initial.bn1), (module.model.layer3[-1].bn2, initial.layer3[-1].bn2)):
        assert torch.allclose(trained.running_mean, expected.running_mean, atol=1e-6)
        assert torch.allclose(trained.running_var, expected.running_var, atol=1e-6)


def test_image_size_is_checked_against_the_data_and_shapes_the_summary() -> None:
    from lightning.pytorch.utilities.model_summary import ModelSummary

    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, image_size=28)
    assert "[2, 1, 28, 28]" in str(ModelSummary(module, max_depth=1))

    class Data:
        num_classes, task, input_shape = 2, "image", (1, 32, 32)

    with pytest.raises(ValueError, match="expects 28x28 images but the data has 32x32"):
        module.check_data(Data())
    with pytest.raises(ValueError, match="num_classes must be an int >= 2"):
        ImageClassifier("resnet20", num_classes=0)
    for bad in (0, True, 28.0):
        with pytest.raises(ValueError, match="image_size must be a positive int"):
            ImageClassifier("resnet20", num_classes=2, image_size=bad)


def test_checkpoint_hparams_record_the_default_learning_rate_and_subclass_options() -> None:
    module = ImageClassifier("resnet56", num_classes=2, in_channels=1, adversarial=AdversarialTraining())
    assert module.hparams["lr"] == 0.001 and module.hparams["adversarial"]["init_args"]["steps"] == 1
    assert ImageClassifier("resnet32").lr == 0.001


def test_image_classifier_step_records_clean_per_sample_losses_under_adversarial_training() -> None:
    torch.manual_seed(0)
    module = ImageClassifier("resnet20", num_classes=2, in_channels=1, adversarial=AdversarialTraining())
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


def test_text_classifier_rejects_a_tokenizer_of_another_vocabulary() -> None:
    class Data:
        num_classes, task = 2, "text"

        def __init__(self, vocab_size: int) -> None:
            self.vocab_size = vocab_size

    module = TextClassifier("bert_tiny", model_kwargs={"vocab_size": 1000})
    module.check_data(Data(1000))
    with pytest.raises(ValueError, match="tokenizer has 30522 tokens but the model's embeddings have 1000 rows"):
        module.check_data(Data(30522))


def test_accuracy_is_the_fraction_correct_and_balanced_accuracy_the_mean_recall() -> None:
    from lit_interactions.modules.classifier import accuracy_metrics

    metrics = accuracy_metrics(2, "val")
    labels = torch.tensor([0] * 9 + [1])
    always_zero = torch.tensor([[1.0, 0.0]]).repeat(10, 1)
    values = metrics(always_zero, labels)
    assert values["val/acc"].item() == pytest.approx(0.9)  # the all-"not 3" floor of MNIST-3
    assert values["val/balanced_acc"].item() == pytest.approx(0.5)


def test_balanced_accuracy_matches_sklearn_also_when_a_predicted_class_is_absent() -> None:
    from sklearn.metrics import balanced_accuracy_score

    from lit_interactions.modules.balanced_accuracy import BalancedAccuracy

    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (50,), generator=generator)  # class 4 never occurs in the targets...
    predicted = torch.randint(0, 5, (50,), generator=generator)  # ...but is predicted
    metric = BalancedAccuracy(5)
    metric.update(predicted[:20], target[:20])  # two batches
    metric.update(torch.nn.functional.one_hot(predicted[20:], 5).float(), target[20:])  # logits work too
    expected = balanced_accuracy_score(target.numpy(), predicted.numpy())
    assert metric.compute().item() == pytest.approx(expected, abs=1e-6)
