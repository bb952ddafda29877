"""The monitor on text: word players on probe sentences with enough eligible words, a tiny random BERT."""

from __future__ import annotations

import json
from pathlib import Path

import lightning as L
import pytest
import torch

from lit_interactions.callbacks import HardSamples, InteractionMonitor
from lit_interactions.data import SST2DataModule
from lit_interactions.interactions import Interactions
from lit_interactions.modules import TextClassifier
from lit_interactions.players import TextWordPlayers, compute_rewards, is_eligible_word
from lit_interactions.players.options import PlayerOptions

from .helpers import trainer

WORDS = (
    "remarkable film chess brooklyn warm funny haunting grief memory hope families plot actors credits linger "
    "gorgeous stubborn cold apartment performances"
).split()
LENGTHS = (2, 6, 7, 3, 8, 5)  # sentences of 2 or 3 words have fewer than 4 eligible words


def sst2(root: Path) -> SST2DataModule:
    """A GLUE-format SST-2 folder of 48 training and 8 dev sentences made of content words and stop words."""
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, count in (("train.tsv", 48), ("dev.tsv", 8)):
        rows = []
        for i in range(count):
            words = [WORDS[(i * 7 + k) % len(WORDS)] for k in range(LENGTHS[i % len(LENGTHS)])]
            rows.append(f"the {' and '.join(words)} .\t{i % 2}")
        (folder / name).write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return SST2DataModule(str(root), num_probe=8, train_subset=0, batch_size=8)


def eligible_probe_ids(dm: SST2DataModule, n: int) -> list[int]:
    return [int(i) for i in dm.probe_ids if sum(is_eligible_word(w) for w in dm.words(int(i))) >= n]


def bert() -> TextClassifier:
    L.seed_everything(0, verbose=False)
    return TextClassifier("bert_tiny", num_classes=2)


@pytest.mark.slow
def test_word_players_on_probe_sentences_with_enough_words(tmp_path: Path) -> None:
    dm = sst2(tmp_path / "data")
    dm.setup()
    usable = eligible_probe_ids(dm, 4)
    assert 3 <= len(usable) < len(dm.probe_ids)  # some probe sentences are too short and are skipped
    monitor = InteractionMonitor(players=PlayerOptions(n_players=4), num_probe=3, figures={"samples": 1})
    hard = HardSamples(num_hard=2, num_easy=2, figures=False)
    trainer(tmp_path, [hard, monitor], max_epochs=1).fit(bert(), dm)
    out = tmp_path / "run" / "v0" / "interactions"

    result = Interactions.load(out / "epoch_0001.safetensors")
    assert result.extra["ids"].tolist() == usable[:3]
    expected = TextWordPlayers(4, dm.tokenizer, seed=0).select(None, dm.batch(usable[:3], "train"))
    assert torch.equal(result.extra["players"], expected.players)
    for sample_id, row in zip(usable[:3], result.extra["players"].tolist()):
        words = dm.words(sample_id)
        assert row == sorted(row) and all(is_eligible_word(words[w]) for w in row)
    assert json.loads((out / "history.json").read_text())["epochs"] == [0, 1]
    assert (out / "figures" / f"sample_{usable[0]}_epoch_0001.png").is_file()
    assert result.settings["player_kind"] == "text_word" and result.settings["players"]["baseline"] == "mean"

    # Hard and easy training sentences are drawn among those with enough words for the players.
    analysed = hard.records[1]["hard_ids"] + hard.records[1]["easy_ids"]
    short = [int(i) for i in dm.train_ids if sum(is_eligible_word(w) for w in dm.words(int(i))) < 4]
    assert short and not set(analysed) & set(short)


def test_too_few_probe_sentences_with_enough_words_fail_before_training(tmp_path: Path) -> None:
    dm = sst2(tmp_path / "data")
    dm.setup()
    count = len(eligible_probe_ids(dm, 4))
    model = bert()
    fit = trainer(tmp_path, [InteractionMonitor(players=PlayerOptions(n_players=4), num_probe=count + 1)])
    with pytest.raises(ValueError, match=f"only {count} of the 8 probe samples have at least n_players=4 eligible"):
        fit.fit(model, dm)
    assert fit.global_step == 0 and model.sample_losses.epochs == []


@pytest.mark.slow
def test_the_monitor_takes_word_players_at_the_first_blocks_output(tmp_path: Path) -> None:
    # Paper 2 App. I.3 for BERT-Tiny: players live at the output of the first transformer block; players.json says so.
    dm = sst2(tmp_path / "data")
    layer = "bert.bert.encoder.layer.0"
    monitor = InteractionMonitor(players=PlayerOptions(n_players=4, layer=layer), num_probe=3, figures=False)
    model = bert()
    trainer(tmp_path, [monitor], max_epochs=1).fit(model, dm)
    out = tmp_path / "run" / "v0" / "interactions"
    players = json.loads((out / "players.json").read_text())
    assert players["settings"]["layer"] == layer and layer in players["where"]
    result = Interactions.load(out / "epoch_0001.safetensors")
    assert result.settings["players"]["layer"] == layer
    batch = dm.batch(result.extra["ids"].numpy(), "train")
    layered = TextWordPlayers.from_settings(result.settings["players"], dm.tokenizer)
    selection = monitor.selection
    expected, _ = compute_rewards(model.model, batch, layered, selection)
    assert torch.allclose(result.rewards, expected.to(result.rewards.dtype), atol=1e-4)
