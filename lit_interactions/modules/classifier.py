"""LightningModules that train the papers' classifiers and record what interaction analysis needs."""

from __future__ import annotations

from typing import Any, Literal, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from lit_interactions.checks import is_int
from lit_interactions.models import IMAGE_MODELS, TEXT_MODELS, create_model
from lit_interactions.modules.balanced_accuracy import BalancedAccuracy
from lit_interactions.modules.parts import Parts, TrainingPart, build_part
from lit_interactions.modules.pgd import AdversarialTraining
from lit_interactions.modules.records import TrainingRecords
from lit_interactions.modules.regularizer_option import InteractionPenalty
from lit_interactions.modules.transplant import LayerTransplant

# Learning rates of paper 2 (App. I.1): SGD with momentum 0.9.
DEFAULT_LR: dict[str, float] = {
    "resnet20": 0.01,
    "resnet32": 0.001,  # the paper's "ResNet-34/56 on CIFAR-10" are the ResNet-32/56 of its Sec. 3.2
    "resnet56": 0.001,
    "resnet34": 0.001,
    "vgg11": 0.01,
    "vgg13": 0.01,
    "vgg16": 0.01,
    "alexnet": 0.01,
    "bert_tiny": 0.01,
    "bert_medium": 0.01,
    "bert_base": 0.01,
    "bert_large": 0.01,
    "minilm_l6": 0.01,
}


# The parts a classifier is given, by argument name (what a checkpoint's hparams record rebuilds).
PART_TYPES: dict[str, type[TrainingPart]] = {
    "adversarial": AdversarialTraining,
    "transplant": LayerTransplant,
    "regularizer": InteractionPenalty,
}


def accuracy_metrics(num_classes: int, stage: str) -> MetricCollection:
    """``<stage>/acc``: the fraction of correct predictions; ``<stage>/balanced_acc``: the mean recall over the
    classes in the targets (:class:`BalancedAccuracy`), 0.5 for a binary classifier that always answers the
    majority class."""
    metrics: dict[str, Metric | MetricCollection] = {
        "acc": MulticlassAccuracy(num_classes, average="micro"), "balanced_acc": BalancedAccuracy(num_classes)
    }
    return MetricCollection(metrics, prefix=f"{stage}/")


def model_key(module: ClassifierModule, model: str, lr: float | None, num_classes: Any) -> str:
    """The registry key of ``model`` after checking the module's arguments.

    Raises:
        ValueError: an unknown model (or one of the other task), a learning rate <= 0, fewer than 2 classes.
    """
    key = model.lower().replace("-", "_")
    if key not in module.registry:
        other = "text" if module.task == "image" else "image"
        hint = f" ({model!r} is a {other} model: use the {other} classifier)" if key in (IMAGE_MODELS | TEXT_MODELS) else ""
        raise ValueError(f"unknown {module.task} model {model!r}{hint}; known: {', '.join(sorted(module.registry))}")
    if lr is not None and lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not is_int(num_classes) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    return key


def check_classes_and_task(module: ClassifierModule, dm: Any) -> None:
    """Raise if the data module's classes or task do not fit the module."""
    data_classes = getattr(dm, "num_classes", None)
    if data_classes is not None and data_classes != module.num_classes:
        raise ValueError(
            f"the model has num_classes={module.num_classes} but the data has {data_classes} classes; "
            f"set model.init_args.num_classes: {data_classes}"
        )
    data_task = getattr(dm, "task", None)
    if data_task is not None and data_task != module.task:
        raise ValueError(f"a {module.task} classifier cannot train on {data_task} data ({type(dm).__name__})")


class ClassifierModule(TrainingRecords):
    """Shared training logic: cross-entropy, SGD, accuracy; the records of :class:`TrainingRecords`; given parts.

    Logs ``{train,val,test}/loss``, ``*/acc`` (fraction correct) and ``*/balanced_acc`` (mean per-class recall,
    :func:`accuracy_metrics`). Under adversarial training ``train/loss`` is the adversarial loss being optimised and
    ``train/clean_loss`` the clean loss of the same samples. The parts (:class:`~lit_interactions.modules.parts.
    TrainingPart`: ``adversarial``, ``transplant``, ``regularizer``) add the rest and document what they log.
    """

    task: str = ""
    registry: dict[str, Any] = {}

    def __init__(
        self,
        model: str,
        num_classes: int,
        model_kwargs: dict[str, Any] | None = None,
        lr: float | None = None,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        scheduler: Literal["constant", "cosine"] = "constant",
        parts: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        key = model_key(self, model, lr, num_classes)
        self.parts = Parts({name: build_part(value, PART_TYPES[name], name) for name, value in (parts or {}).items()})
        self.save_hyperparameters(ignore=["parts", *self.parts.given])
        self.hparams.update(self.parts.hparams())
        self.model_name, self.num_classes = key, num_classes
        self.lr = lr if lr is not None else DEFAULT_LR.get(key, 0.01)
        self.hparams["lr"] = self.lr  # checkpoints record the learning rate used, also when it was the default
        self.model = create_model(key, num_classes=num_classes, **(model_kwargs or {}))
        self.parts.attach(self)
        self.train_acc, self.val_acc, self.test_acc = (accuracy_metrics(num_classes, s) for s in ("train", "val", "test"))

    def forward(self, batch: dict[str, Tensor]) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def training_loss(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """``(loss to optimise, logits, per-sample clean loss)`` of a training batch (a part may replace it)."""
        replaced = self.parts.training_loss(self, batch)
        if replaced is not None:
            return replaced
        logits = self(batch)
        per_sample = F.cross_entropy(logits, batch["labels"], reduction="none")
        return per_sample.mean(), logits, per_sample

    def train(self, mode: bool = True) -> ClassifierModule:
        """Set train/eval mode; the parts may keep some modules in eval (frozen transplanted batch norms)."""
        super().train(mode)
        if hasattr(self, "parts"):
            self.parts.on_train_mode(self, mode)
        return self

    def setup(self, stage: str) -> None:
        """Check that the data fits the model, then let the parts prepare: errors before training."""
        if (dm := getattr(self.trainer, "datamodule", None) if self._trainer is not None else None) is not None:
            self.check_data(dm)
        self.parts.setup(self, dm, stage)

    def check_data(self, dm: Any) -> None:
        """Raise if the data module's classes or task do not fit this module."""
        check_classes_and_task(self, dm)

    def on_fit_start(self) -> None:
        """Start the parts; forget a resumed checkpoint's position (what a later validate/test in this process
        evaluates is the trained weights, not that checkpoint)."""
        super().on_fit_start()
        self.parts.on_fit_start(self)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, logits, per_sample = self.training_loss(batch)
        self.sample_losses.record(batch["ids"], per_sample)
        self.train_loss_mean.update(per_sample.detach())
        self.train_acc.update(logits.detach(), batch["labels"])
        size = len(batch["labels"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=size)
        self.log_accuracy(self.train_acc, size, on_step=False)
        if self.parts.given.get("adversarial") is not None:
            self.log("train/clean_loss", per_sample.mean(), on_step=False, on_epoch=True, batch_size=size)
        return loss + self.parts.extra_loss(self, batch)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        self.parts.on_train_batch_start(self)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        self.parts.on_train_batch_end(self)

    def _eval_step(self, batch: dict[str, Tensor], stage: str, metrics: MetricCollection) -> Tensor:
        logits = self(batch)
        loss = F.cross_entropy(logits, batch["labels"])
        metrics.update(logits, batch["labels"])
        size = len(batch["labels"])
        self.log(f"{stage}/loss", loss, on_epoch=True, prog_bar=True, batch_size=size, sync_dist=True)
        self.log_accuracy(metrics, size)
        return loss

    def log_accuracy(self, metrics: MetricCollection, batch_size: int, on_step: bool | None = None) -> None:
        """Log both accuracies as epoch values; the plain one also in the progress bar."""
        for name, metric in metrics.items(keep_base=False, copy_state=False):
            self.log(name, metric, on_step=on_step, on_epoch=True, prog_bar=name.endswith("/acc"), batch_size=batch_size)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._eval_step(batch, "val", self.val_acc)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        return self._eval_step(batch, "test", self.test_acc)

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int) -> dict[str, Tensor]:
        """Sample ids, labels and class probabilities (what ``lit-interactions predict`` writes per sample)."""
        return {"ids": batch["ids"].cpu(), "labels": batch["labels"].cpu(), "probs": self(batch).softmax(-1).cpu()}

    def configure_optimizers(self) -> Any:
        hp = self.hparams
        optimizer = torch.optim.SGD(self.parameters(), lr=self.lr, momentum=hp["momentum"], weight_decay=hp["weight_decay"])
        if hp["scheduler"] == "constant":
            return optimizer
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)}



class ImageClassifier(ClassifierModule):
    """Image classifier (ResNet, VGG, AlexNet) with optional 1-step PGD adversarial training (paper 2 App. I.1).

    Args:
        model: registered image model name (``resnet20``, ``vgg16``, ...).
        num_classes: number of classes (must match the data).
        in_channels: input channels (1 for MNIST, 3 for CIFAR-10 / Tiny-ImageNet).
        image_size: input height = width (28 MNIST, 32 CIFAR-10, 64 Tiny-ImageNet). The networks pool globally, so
            any size runs; when given, it is checked against the data at setup and the model summary shows every
            layer's output shape for it.
        model_kwargs: extra model arguments (``mean``/``std`` normalisation, ``dropout``, ...).
        lr: SGD learning rate; the paper's value for the model when omitted.
        momentum: SGD momentum (paper: 0.9).
        weight_decay: SGD weight decay.
        scheduler: "constant" (paper) or "cosine" over ``trainer.max_epochs``.
        adversarial: train on PGD examples instead of clean inputs (:class:`~lit_interactions.modules.pgd.
            AdversarialTraining`, paper: 1 step of 4/255); None = clean training.
        transplant: copy a trained donor's first L parameter layers (:class:`~lit_interactions.modules.transplant.
            LayerTransplant`; ``num_layers: all`` copies the whole network, to fine-tune it); None = off.
        regularizer: the interaction-removal penalty (:class:`~lit_interactions.modules.regularizer_option.
            InteractionPenalty`); None = off.
    """

    task = "image"
    registry = IMAGE_MODELS

    def __init__(
        self,
        model: str = "resnet20",
        num_classes: int = 10,
        in_channels: int = 3,
        image_size: int | None = None,
        model_kwargs: dict[str, Any] | None = None,
        lr: float | None = None,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        scheduler: Literal["constant", "cosine"] = "constant",
        adversarial: AdversarialTraining | None = None,
        transplant: LayerTransplant | None = None,
        regularizer: InteractionPenalty | None = None,
    ) -> None:
        kwargs = {"in_channels": in_channels, **(model_kwargs or {})}
        if image_size is not None and (not is_int(image_size) or image_size < 1):
            raise ValueError(f"image_size must be a positive int (height = width) or null, got {image_size!r}")
        parts = {"adversarial": adversarial, "transplant": transplant, "regularizer": regularizer}
        super().__init__(model, num_classes, kwargs, lr, momentum, weight_decay, scheduler, parts)
        self.in_channels = in_channels
        self.image_size = image_size
        if image_size is not None:
            self.example_input_array = torch.zeros(2, in_channels, image_size, image_size)

    def check_data(self, dm: Any) -> None:
        """Also raise if the data's input channels (or image size, when given) differ from the model's."""
        super().check_data(dm)
        shape = getattr(dm, "input_shape", None)
        if shape is not None and shape[0] != self.in_channels:
            raise ValueError(
                f"the model expects in_channels={self.in_channels} but the data has {shape[0]} channels; "
                f"set model.init_args.in_channels: {shape[0]}"
            )
        if shape is not None and self.image_size is not None and tuple(shape[1:]) != (self.image_size,) * 2:
            raise ValueError(
                f"the model expects {self.image_size}x{self.image_size} images but the data has "
                f"{shape[1]}x{shape[2]}; set model.init_args.image_size: {shape[1]} (or null)"
            )

    def forward(self, batch: dict[str, Tensor] | Tensor) -> Tensor:
        inputs = batch["inputs"] if isinstance(batch, dict) else batch
        return self.model(inputs)


class TextClassifier(ClassifierModule):
    """Sentence classifier (BERT-Tiny/Medium/base/large, MiniLM) on tokenized batches.

    Args:
        model: registered text model name (``bert_tiny``, ``minilm_l6``, ...).
        num_classes: number of classes (must match the data).
        model_kwargs: extra model arguments (``pretrained`` local folder, ``dropout``, ...).
        lr: SGD learning rate; the paper's value (0.01) when omitted.
        momentum: SGD momentum (paper: 0.9).
        weight_decay: SGD weight decay.
        scheduler: "constant" (paper) or "cosine" over ``trainer.max_epochs``.
        transplant: copy a trained donor's first L parameter layers (:class:`~lit_interactions.modules.transplant.
            LayerTransplant`); None = off.
        regularizer: the interaction-removal penalty (:class:`~lit_interactions.modules.regularizer_option.
            InteractionPenalty`); None = off.
    """

    task = "text"
    registry = TEXT_MODELS

    def __init__(
        self,
        model: str = "bert_tiny",
        num_classes: int = 2,
        model_kwargs: dict[str, Any] | None = None,
        lr: float | None = None,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        scheduler: Literal["constant", "cosine"] = "constant",
        transplant: LayerTransplant | None = None,
        regularizer: InteractionPenalty | None = None,
    ) -> None:
        parts = {"transplant": transplant, "regularizer": regularizer}
        super().__init__(model, num_classes, model_kwargs, lr, momentum, weight_decay, scheduler, parts)

    def check_data(self, dm: Any) -> None:
        """Also raise if the data's tokenizer does not have the model's vocabulary (token ids would index wrong or
        missing embedding rows)."""
        super().check_data(dm)
        data_vocab = getattr(dm, "vocab_size", None)
        model_vocab = cast(Any, self.model).get_input_embeddings().num_embeddings
        if data_vocab is not None and data_vocab != model_vocab:
            raise ValueError(
                f"the data's tokenizer has {data_vocab} tokens but the model's embeddings have {model_vocab} rows; "
                f"set data.init_args.tokenizer to the model's folder (model_kwargs.pretrained) or model_kwargs."
                f"vocab_size: {data_vocab} for a randomly initialised model"
            )

    def forward(self, batch: dict[str, Tensor]) -> Tensor:
        return self.model(
            input_ids=batch["input_ids"],
            attention_mask=batch.get("attention_mask"),
            token_type_ids=batch.get("token_type_ids"),
        )


def classifier_network(module: nn.Module) -> nn.Module:
    """The bare network inside a classifier module (what players and rewards evaluate)."""
    return module.model if isinstance(module, ClassifierModule) else module
