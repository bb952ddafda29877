"""SST2DataModule on generated GLUE TSV files: tokenization, word ids, labels, ids, errors."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from lit_interactions.data import (
    DataFormatError,
    DataNotFoundError,
    DataOptionError,
    SST2DataModule,
)

from .fakes import sst2_sentence, write_sst2


@pytest.fixture(scope="module")
def sst2_dir(tmp_path_factory):
    return write_sst2(tmp_path_factory.mktemp("glue"), n_train=30, n_dev=10)


@pytest.fixture(scope="module")
def dm(sst2_dir) -> SST2DataModule:
    module = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, batch_size=8)
    module.setup()
    return module


def test_splits_text_and_labels(dm):
    assert dm.task == "text" and dm.num_classes == 2 and dm.input_shape is None
    assert len(dm.train_dataset) == 24 and len(dm.probe_dataset) == 6 and len(dm.val_dataset) == 10
    assert dm.text(4) == sst2_sentence(4).strip() and dm.words(4) == sst2_sentence(4).split()
    assert dm.text(3, "val") == sst2_sentence(3).strip()
    batch = next(iter(dm.train_dataloader()))
    assert batch["labels"].tolist() == [i % 2 for i in batch["ids"].tolist()]


def test_batches_carry_word_ids_consistent_with_the_tokenizer(dm):
    batch = next(iter(dm.val_dataloader()))
    keys = {"input_ids", "attention_mask", "token_type_ids", "word_ids", "labels", "ids"}
    assert set(batch) == keys and all(v.dtype == torch.long for v in batch.values())
    served = batch["ids"].tolist()
    assert served == dm.val_dataset.ids[:8].tolist() and batch["labels"].tolist() == [i % 2 for i in served]
    length = batch["input_ids"].shape[1]
    assert all(v.shape == (8, length) for k, v in batch.items() if k not in ("labels", "ids"))
    tok = dm.tokenizer
    for row, sample_id in enumerate(batch["ids"].tolist()):
        words = dm.words(sample_id, "val")
        word_ids = batch["word_ids"][row]
        real = batch["attention_mask"][row].bool()
        tokens = batch["input_ids"][row]
        assert tokens[0] == tok.cls_token_id and (~real).sum() == (tokens == tok.pad_token_id).sum()
        assert (word_ids[~real] == -1).all() and word_ids[0] == -1  # padding and [CLS]
        assert word_ids[real].max() == len(words) - 1
        for w, word in enumerate(words):  # the tokens of word w are exactly the word's own tokens
            own = tokens[word_ids == w].tolist()
            assert own == tok(word, add_special_tokens=False)["input_ids"], word


def test_truncation_to_max_length(sst2_dir, tokenizer_path):
    dm = SST2DataModule(data_dir=str(sst2_dir), tokenizer=tokenizer_path, max_length=5, num_probe=2)
    batch = dm.batch([7, 8])  # "journey unflinchingly ..." and "unflinchingly bleak ...": 3 word pieces
    assert batch["input_ids"].shape == (2, 5) and batch["word_ids"][:, 1:4].tolist() == [[0, 1, 1], [0, 0, 0]]
    assert batch["input_ids"][:, -1].tolist() == [dm.tokenizer.sep_token_id] * 2


def test_probe_set_shared_across_settings(sst2_dir):
    base = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, split_seed=1)
    other = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, split_seed=1, train_subset=1,
                           train_subset_size=10, relabel_per_class=2)
    assert base.probe_ids.tolist() == other.probe_ids.tolist()
    assert len(other.relabelled_ids) == 2 and all(other.label(i) == 1 for i in other.relabelled_ids)
    reseeded = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, split_seed=2)
    assert base.probe_ids.tolist() != reseeded.probe_ids.tolist()


def test_missing_and_malformed(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"SST-2 not found at .*: expected SST-2/train.tsv and dev.tsv.*GLUE"):
        SST2DataModule(data_dir=str(tmp_path / "nope")).setup()
    folder = write_sst2(tmp_path)
    (folder / "dev.tsv").unlink()
    with pytest.raises(DataNotFoundError, match=r"\(missing: dev.tsv\)"):
        SST2DataModule(data_dir=str(tmp_path)).setup()
    (folder / "dev.tsv").write_text("sentence\tlabel\na fine film\t1\nbad\tpositive\n")
    with pytest.raises(DataFormatError, match=r"dev.tsv is malformed: line 3 \('bad\\tpositive'\)"):
        SST2DataModule(data_dir=str(tmp_path)).setup()
    (folder / "dev.tsv").write_text("text,label\n")
    with pytest.raises(DataFormatError, match=r"its header is 'text,label'"):
        SST2DataModule(data_dir=str(tmp_path)).setup()


def test_bad_tokenizer_folder(tmp_path):
    write_sst2(tmp_path)
    with pytest.raises(DataOptionError, match=r"tokenizer folder .*missing does not exist.*the hub is never used"):
        SST2DataModule(data_dir=str(tmp_path), tokenizer=str(tmp_path / "missing"), num_probe=2).batch([0])
    with pytest.raises(DataOptionError, match=r"cannot load a tokenizer from .*SST-2"):
        SST2DataModule(data_dir=str(tmp_path), tokenizer=str(tmp_path / "SST-2"), num_probe=2).batch([0])


def test_worker_processes_give_the_same_batches(sst2_dir):
    serial = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, batch_size=8)
    parallel = SST2DataModule(data_dir=str(sst2_dir), num_probe=6, batch_size=8, num_workers=1)
    for a, b in zip(serial.val_dataloader(), parallel.val_dataloader(), strict=True):
        assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("name", ["train.tsv", "dev.tsv"])
def test_header_only_file_is_a_format_error(tmp_path, name):
    folder = write_sst2(tmp_path)
    (folder / name).write_text("sentence\tlabel\n\n", encoding="utf-8")
    expected = rf"SST-2 file .*{name} is malformed: there are no data rows in {name}, only the header"
    with pytest.raises(DataFormatError, match=expected):
        SST2DataModule(data_dir=str(tmp_path), num_probe=2).setup()


def test_vocab_size_is_the_length_of_the_tokenizer(dm, tmp_path, tokenizer_path):
    assert dm.vocab_size == len(dm.tokenizer) == 30522  # MiniLM: the uncased BERT vocabulary
    extended = AutoTokenizer.from_pretrained(tokenizer_path, local_files_only=True)
    extended.add_tokens(["unflinchingly"])
    extended.save_pretrained(tmp_path / "tok")
    other = SST2DataModule(data_dir=str(dm.data_dir), tokenizer=str(tmp_path / "tok"), num_probe=2)
    assert other.vocab_size == 30523 and other.tokenizer.vocab_size == 30522  # added tokens count too
