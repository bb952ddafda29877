"""Load a trained network (a baseline DNN) from a classifier checkpoint safely, checking that it fits a run.

The checkpoint is read with ``torch.load(weights_only=True)`` (no code runs), the network is rebuilt from its saved
hyperparameters (model name, number of classes, input channels, model arguments; a transplant recorded there is not
re-applied: the weights come from the checkpoint) and its ``model.`` weights are loaded strictly. Used by the
``BaselineGeneralizability`` callback and the classifier modules' interaction regularizer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from lit_interactions.models.registry import IMAGE_MODELS, TEXT_MODELS, create_model

PREFIX = "model."


class TrainedModule(Protocol):
    """What a baseline must match: the run's task, number of classes and model name (a classifier module)."""

    task: str
    num_classes: int
    model_name: str


BASELINE_FIX = "train the baseline DNN first (e.g. the same config with --data.init_args.train_subset 1) and pass"


def read_checkpoint(
    path: str | Path,
    who: str,
    option: str = "--baseline.init_args.checkpoint",
    missing_fix: str = BASELINE_FIX,
) -> dict[str, Any]:
    """The checkpoint at ``path`` as plain data, with clear errors for a missing or unreadable file.

    Args:
        path: the checkpoint file.
        who: the caller's name for error messages.
        option: the setting that names the file, for error messages.
        missing_fix: what to do when the file is missing; the message ends with "its last.ckpt as <option>".
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{who}: no checkpoint at {str(path)!r}; {missing_fix} its last.ckpt as {option}")
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any failure means the same thing to the user
        # torch's own message for a damaged file suggests weights_only=False, which would run the file's code
        reason = type(error).__name__ if "weights_only" in str(error) or not str(error) else str(error).splitlines()[0]
        raise ValueError(
            f"{who}: {file} cannot be read as a checkpoint with torch.load(weights_only=True) ({reason}); the file "
            f"is damaged or not a checkpoint: give one written by training a lit_interactions classifier "
            f"(runs/<name>/<version>/checkpoints/)"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint or "hyper_parameters" not in checkpoint:
        raise ValueError(
            f"{who}: {file} is not a Lightning checkpoint of a lit_interactions classifier (no state_dict and "
            f"hyper_parameters); give a checkpoint from runs/<name>/<version>/checkpoints/"
        )
    check_class_paths(checkpoint["hyper_parameters"], f"{who}: {file}")
    return checkpoint


PACKAGE = "lit_interactions."


def check_class_paths(value: Any, where: str) -> None:
    """Refuse a checkpoint whose hyperparameters name a class outside this package (they would be instantiated).

    Raises:
        ValueError: naming the class path and where it was found.
    """
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("class_path", "_class_path") and not (isinstance(item, str) and item.startswith(PACKAGE)):
                raise ValueError(
                    f"{where}: its hyperparameters name the class {item!r}, which is not part of lit_interactions; "
                    f"a checkpoint may only name this package's classes (loading it never runs other code)"
                )
            check_class_paths(item, where)
    elif isinstance(value, (list, tuple)):
        for item in value:
            check_class_paths(item, where)


def build_baseline(
    checkpoint: dict[str, Any],
    main: TrainedModule,
    input_channels: int | None,
    who: str,
    same_model: bool = False,
) -> nn.Module:
    """The checkpoint's bare network in eval mode without gradients, after checking that it fits ``main``.

    Args:
        checkpoint: from :func:`read_checkpoint`.
        main: the module being trained (its task and number of classes must match).
        input_channels: the data's input channels (images), or None.
        who: the caller's name for error messages.
        same_model: also require the same architecture (model name) as ``main``.

    Raises:
        ValueError: another task (image vs text), another number of classes, other input channels, another
            architecture (with ``same_model``), or weights that do not fit the architecture the hyperparameters
            describe.
    """
    hparams = dict(checkpoint["hyper_parameters"])
    name = str(hparams.get("model", "")).lower().replace("-", "_")
    task = "image" if name in IMAGE_MODELS else "text" if name in TEXT_MODELS else None
    if task is None:
        raise ValueError(f"{who}: the baseline checkpoint's model {hparams.get('model')!r} is not a registered model")
    if task != main.task:
        raise ValueError(
            f"{who}: the baseline checkpoint is {_article(task)} {task} model ({name}) but this run trains "
            f"{_article(main.task)} {main.task} model ({main.model_name}); give a baseline DNN trained on the same "
            f"task and data"
        )
    if same_model and name != main.model_name:
        raise ValueError(
            f"{who}: the baseline checkpoint is a {name} but this run trains a {main.model_name}; give a baseline "
            f"DNN of the same architecture (the same config trained on the other half of the data)"
        )
    if int(hparams.get("num_classes", -1)) != main.num_classes:
        raise ValueError(
            f"{who}: the baseline checkpoint has num_classes={hparams.get('num_classes')} but this run has "
            f"{main.num_classes}; give a baseline DNN trained on the same classes"
        )
    if task == "image" and input_channels is not None and int(hparams.get("in_channels", 3)) != input_channels:
        raise ValueError(
            f"{who}: the baseline checkpoint expects in_channels={hparams.get('in_channels', 3)} but the data has "
            f"{input_channels} channels; give a baseline DNN trained on the same kind of images"
        )
    return _with_weights(_network(name, task, hparams), checkpoint, name, who)


def load_network(path: str | Path, who: str, option: str = "--checkpoint") -> tuple[nn.Module, str, int]:
    """The bare network of a classifier checkpoint (eval mode, no gradients), its task and input channels.

    Raises:
        FileNotFoundError, ValueError: as :func:`read_checkpoint`, or a model that is not registered.
    """
    checkpoint = read_checkpoint(path, who, option, "train a run first (lit-interactions fit) and pass")
    hparams = dict(checkpoint["hyper_parameters"])
    name = str(hparams.get("model", "")).lower().replace("-", "_")
    task = "image" if name in IMAGE_MODELS else "text" if name in TEXT_MODELS else None
    if task is None:
        raise ValueError(f"{who}: the checkpoint's model {hparams.get('model')!r} is not a registered model")
    network = _with_weights(_network(name, task, hparams), checkpoint, name, who)
    return network, task, int(hparams.get("in_channels", 3))


def _with_weights(network: nn.Module, checkpoint: dict[str, Any], name: str, who: str) -> nn.Module:
    """``network`` with the checkpoint's ``model.`` weights loaded strictly, in eval mode without gradients."""
    state = {k[len(PREFIX):]: v for k, v in checkpoint["state_dict"].items() if k.startswith(PREFIX)}
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f"{who}: the checkpoint's weights do not fit a {name} built from its hyperparameters "
            f"({str(error).splitlines()[0]}); was it written by another version of the model?"
        ) from None
    return network.eval().requires_grad_(False)


def _network(name: str, task: str, hparams: dict[str, Any]) -> nn.Module:
    """The network as the classifier module of ``task`` builds it from its hyperparameters."""
    kwargs = dict(hparams.get("model_kwargs") or {})
    if task == "image":
        kwargs = {"in_channels": int(hparams.get("in_channels", 3)), **kwargs}
    return create_model(name, num_classes=int(hparams["num_classes"]), **kwargs)


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"
