"""The bad-input table: every public entry checks its input and answers with one clear error.

``CASES`` is the table docs/reliability.md shows (a test checks that the doc lists every case id).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from lit_interactions import explain
from lit_interactions.interactions import Interactions, and_or_transform, extract, extract_joint
from lit_interactions.interactions.transform import bias, logical_model
from lit_interactions.players import ImagePatchPlayers, PlayerSelection, TextWordPlayers

ROOT = Path(__file__).resolve().parents[2]
V = torch.tensor([0.0, 1.0, 2.0, 4.0], dtype=torch.float64)  # a 2-player game
V2 = torch.stack([V, 2 * V])
NAN = torch.tensor([0.0, float("nan"), 2.0, 4.0])
INF = torch.tensor([0.0, 1.0, float("inf"), 4.0])


def _files(tmp: Path) -> dict[str, Path]:
    """Files that are not what the loaders expect."""
    text = tmp / "notes.txt"
    text.write_text("not a tensor file")
    foreign = tmp / "foreign.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign))
    pickled = tmp / "pickled.pt"
    pickled.write_bytes(pickle.dumps({"ids": Path("/")}))  # pickles a class: refused by weights_only
    other = tmp / "other.pt"
    torch.save({"state_dict": {}}, other)
    return {"text": text, "foreign": foreign, "pickled": pickled, "other": other, "missing": tmp / "absent.pt"}


class TinyNet(torch.nn.Module):
    """A 1-channel 8x8 image classifier with 2 classes."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(64, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


# id -> (call on the files, expected error type, a fragment of the message)
CASES: dict[str, tuple[Callable[[dict[str, Path]], Any], type[Exception], str]] = {
    "transform-scalar": (lambda f: and_or_transform(1.0), TypeError, "must be a torch.Tensor"),
    "transform-list": (lambda f: and_or_transform([0.0, 1.0]), TypeError, "torch.as_tensor"),
    "transform-int": (lambda f: and_or_transform(torch.arange(4)), TypeError, "real floating tensor"),
    "transform-complex": (lambda f: and_or_transform(V.to(torch.complex128)), TypeError, "real floating tensor"),
    "transform-nan": (lambda f: and_or_transform(NAN), ValueError, "1 NaN or infinite values"),
    "transform-inf": (lambda f: and_or_transform(INF), ValueError, "the first at index (2,)"),
    "transform-length": (lambda f: and_or_transform(torch.zeros(3)), ValueError, "length 2^n"),
    "transform-0d": (lambda f: and_or_transform(torch.tensor(1.0)), ValueError, "got a scalar tensor"),
    "transform-gamma-nan": (lambda f: and_or_transform(V, gamma=NAN.double()), ValueError, "gamma hold 1 NaN"),
    "extract-max_iter-float": (lambda f: extract(V, max_iter=1.5), TypeError, "max_iter=1.5 is not valid: expected an int >= 1 or None"),
    "extract-max_iter-bool": (lambda f: extract(V, max_iter=True), TypeError, "max_iter=True is not valid"),
    "extract-max_iter-0": (lambda f: extract(V, max_iter=0), ValueError, "max_iter=0 is not valid: expected an int >= 1"),
    "extract-check_every-str": (lambda f: extract(V, check_every="5"), TypeError, "check_every='5' is not valid"),
    "extract-num_threads-float": (lambda f: extract(V, num_threads=1.5), TypeError, "num_threads=1.5 is not valid"),
    "extract-crossover-str": (lambda f: extract(V, crossover="no"), TypeError, "crossover must be true or false"),
    "extract-tol-nan": (lambda f: extract(V, tol=float("nan")), ValueError, "tol must be a finite number"),
    "extract-noise_ratio-bool": (lambda f: extract(V, noise_ratio=True), TypeError, "noise_ratio must be a real"),
    "extract-rewards-nan": (lambda f: extract(NAN), ValueError, "NaN or infinite"),
    "extract-rewards-list": (lambda f: extract([0.0, 1.0]), TypeError, "must be a torch.Tensor"),
    "joint-one-model": (lambda f: extract_joint(V), ValueError, "K >= 2 models"),
    "joint-alpha": (lambda f: extract_joint(V2, alpha=2.0), ValueError, "alpha must be in [0, 1]"),
    "joint-shared_bound-inf": (lambda f: extract_joint(V2, shared_bound=float("inf")), ValueError,
                               "shared_bound must be a finite number"),
    "joint-int": (lambda f: extract_joint(V2.long()), TypeError, "real floating tensor"),
    "image-players-n-float": (lambda f: ImagePatchPlayers(n_players=1.5), TypeError, "n_players must be an int"),
    "image-players-grid-bool": (lambda f: ImagePatchPlayers(grid=True), TypeError, "grid=True is not valid: expected an int >= 1"),
    "image-players-too-many": (lambda f: ImagePatchPlayers(n_players=12, grid=3), ValueError, "> grid*grid=9"),
    "image-players-crop": (lambda f: ImagePatchPlayers(crop=-1), ValueError, "crop must be None"),
    "text-players-seed": (lambda f: TextWordPlayers(seed=0.5), TypeError, "seed=0.5 is not valid: expected an int >= 0"),
    "text-players-n-0": (lambda f: TextWordPlayers(n_players=0), ValueError, "n_players=0 is not supported"),
    "explain-list-image": (lambda f: explain(TinyNet(), [[0.0]]), TypeError, "inputs"),
    "explain-nan-image": (lambda f: explain(TinyNet(), torch.full((1, 8, 8), float("nan"))), ValueError, "finite"),
    "explain-grid-float": (lambda f: explain(TinyNet(), torch.rand(1, 8, 8), grid=5.0), TypeError,
                           "grid=5.0 is not valid"),
    "explain-n-bool": (lambda f: explain(TinyNet(), torch.rand(1, 8, 8), n_players=True), TypeError,
                       "n_players=True is not valid"),
    "explain-noise-nan": (lambda f: explain(TinyNet(), torch.rand(1, 8, 8), solver={"noise_ratio": float("nan")}), ValueError,
                          "noise_ratio must be a finite number"),
    "load-missing": (lambda f: Interactions.load(f["missing"]), FileNotFoundError, "no saved interactions"),
    "load-text": (lambda f: Interactions.load(f["text"]), ValueError, "notes.txt"),
    "load-foreign": (lambda f: Interactions.load(f["foreign"]), ValueError, "not saved Interactions"),
    "players-missing": (lambda f: PlayerSelection.load(f["missing"]), FileNotFoundError, "no players file"),
    "players-pickle": (lambda f: PlayerSelection.load(f["pickled"]), ValueError,
                       "is not a players file: it cannot be read as plain tensors"),
    "players-other": (lambda f: PlayerSelection.load(f["other"]), ValueError, "it holds ['state_dict']"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_one_clear_error(case: str, tmp_path: Path) -> None:
    call, error, fragment = CASES[case]
    with pytest.raises(error) as raised:
        call(_files(tmp_path))
    assert fragment in str(raised.value)
    assert "weights_only=False" not in str(raised.value)  # never advice that would run a file's code


def test_the_reliability_doc_lists_every_case() -> None:
    doc = (ROOT / "docs" / "reliability.md").read_text()
    missing = [case for case in CASES if f"`{case}`" not in doc]
    assert not missing, f"docs/reliability.md does not list {missing}"


def test_good_input_still_works() -> None:
    """The checks accept what they should: numpy integer options, float32 rewards, a batch of games."""
    import numpy as np

    result = extract(torch.stack([V, -V]).float(), max_iter=np.int64(5000), check_every=np.int32(50))
    assert result.settings["converged"] and result.batch_shape == (2,)
    and_effects, or_effects = and_or_transform(V)  # gamma = 0: u = v / 2 on both sides (computed by hand)
    assert and_effects.tolist() == [0.0, 0.5, 1.0, 0.5] and or_effects.tolist() == [0.0, 1.0, 1.5, -0.5]
    assert torch.allclose(logical_model(and_effects, or_effects, bias(V)), V)  # universal matching
