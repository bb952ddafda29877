"""``lit-interactions explain``: files written, loadable results, and bad input as one message with exit code 2."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torchvision.io import write_png

from lit_interactions.cli import main
from lit_interactions.interactions import Interactions
from lit_interactions.models import create_model
from tests.explain.test_squad import PERIOD, PLAIN, write_squad

TEXT = "Architecturally, the school has a Catholic character with a golden statue of the Virgin Mary on the"


def run_main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["lit-interactions", "explain", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    return int(exit_info.value.code), out.out, out.err


@pytest.mark.slow
def test_console_script_explains_two_models_on_squad(lm_folders: dict[str, Path], tmp_path: Path) -> None:
    squad = write_squad(tmp_path / "dev.json", [PLAIN, PERIOD])
    out_dir = tmp_path / "out"
    script = shutil.which("lit-interactions")
    assert script, "the lit-interactions console script is not installed (pip install -e .)"
    done = subprocess.run(
        [script, "explain", "--model", str(lm_folders["llama"]), "--model", str(lm_folders["opt"]),
         "--squad", str(squad), "--num-samples", "2", "--n-players", "4", "--out", str(out_dir), "--no-progress"],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out_dir / 'explain.json'} and {out_dir / 'explain.html'}" in done.stdout
    llama = Interactions.load(out_dir / "interactions" / "llama.safetensors")
    opt = Interactions.load(out_dir / "interactions" / "opt.safetensors")
    assert llama.batch_shape == opt.batch_shape == torch.Size([2])
    assert torch.equal(llama.extra["players"], opt.extra["players"])
    assert torch.allclose(llama.reconstruct(), llama.rewards - llama.noise, atol=1e-9)
    summary = json.loads((out_dir / "explain.json").read_text())
    assert [s["next word in the document"] for s in summary["samples"]] == ["cathedral", "villages"]
    assert len(summary["sharing"]["transferability"]["AND"]) == 9
    html = (out_dir / "explain.html").read_text()
    assert "Shared and distinctive interactions" in html and "Virgin" not in html  # only the SQuAD texts
    assert all((out_dir / "figures" / f"sample{i}_{m}.png").is_file() for i in (0, 1) for m in ("llama", "opt"))


def test_one_text_one_model(lm_folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "--model", str(lm_folders["gpt2"]), "--text", TEXT,
                            "--n-players", "3", "--out", str(tmp_path), "--no-progress")
    assert code == 0 and "explain.html" in out
    result = Interactions.load(tmp_path / "interactions" / "gpt2.safetensors")
    assert result.batch_shape == torch.Size([1]) and result.settings["texts"] == [TEXT]
    assert "Architecturally" in (tmp_path / "explain.html").read_text()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("not_lm", "which is not a causal language model"),
        ("few_words", "fewer than n_players=10 eligible"),
        ("too_long", "longer than its context of 512 tokens"),
        ("squad_missing", "SQuAD not found"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(
    case: str, expected: str, lm_folders: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from transformers import BertConfig, BertModel

    model = str(lm_folders["gpt2"])
    source = ["--text", TEXT]
    if case == "not_lm":
        BertModel(BertConfig(vocab_size=50, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                             intermediate_size=8)).save_pretrained(tmp_path / "bert")
        model = str(tmp_path / "bert")
    elif case == "few_words":
        source = ["--text", "The golden statue of the Virgin"]
    elif case == "too_long":
        source = ["--text", " ".join([TEXT] * 40)]
    elif case == "squad_missing":
        source = ["--squad", str(tmp_path / "none.json"), "--num-samples", "2"]
    code, _, err = run_main(monkeypatch, capsys, "--model", model, *source, "--out", str(tmp_path / "out"),
                            "--no-progress")
    errors = [line for line in err.splitlines() if line.startswith("lit-interactions: error: ")]
    assert code == 2 and len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in err


def test_image_file_with_a_classifier_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    torch.manual_seed(0)
    network = create_model("resnet20", num_classes=2, in_channels=1)
    checkpoint = {"state_dict": {f"model.{k}": v for k, v in network.state_dict().items()},
                  "hyper_parameters": {"model": "resnet20", "num_classes": 2, "in_channels": 1}}
    torch.save(checkpoint, tmp_path / "last.ckpt")
    pixels = (torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(2)) * 255).to(torch.uint8)
    write_png(pixels, str(tmp_path / "digit.png"))
    code, _, err = run_main(monkeypatch, capsys, "--image", str(tmp_path / "digit.png"), "--checkpoint",
                            str(tmp_path / "last.ckpt"), "--n-players", "4", "--out", str(tmp_path / "out"),
                            "--no-progress")
    assert code == 0, err
    result = Interactions.load(tmp_path / "out" / "interactions" / "last.ckpt.safetensors")
    with torch.no_grad():
        logits = network.eval()(pixels.float()[None] / 255)
    assert int(result.extra["targets"][0]) == int(logits.argmax())
    assert (tmp_path / "out" / "figures" / "sample0_last.ckpt.png").is_file()
