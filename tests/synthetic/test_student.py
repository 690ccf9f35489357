"""The relation student: scores over positive labels, marker tokens and windows, a few training
steps with the bundled MiniLM, saved and reloaded, predictions turned into schema relations."""

from __future__ import annotations

import json

import pytest

from bioie_kedro.relation_extraction.classifier import (
    RelationTrainingSettings,
    class_weights,
    classification_scores,
    documents_with_predicted_relations,
)
from bioie_kedro.relation_extraction.examples import to_dataset_dict
from bioie_kedro.schema import Document, Entity, Relation


def test_scores_leave_none_out():
    gold = ["none", "none", "treats", "treats", "causes", "none"]
    pred = ["none", "treats", "treats", "none", "causes", "none"]
    scores = classification_scores(gold, pred)
    # positives: gold 3, predicted 3, correct 2
    assert scores["positive_micro_f1"] == pytest.approx(2 / 3)
    assert scores["per_label"]["treats"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "predicted": 2,
    }
    assert scores["positive_macro_f1"] == pytest.approx((0.5 + 1.0) / 2)
    assert "none" not in scores["per_label"]
    # predicting none everywhere scores zero however accurate it is
    assert classification_scores(gold, ["none"] * 6)["positive_macro_f1"] == 0.0
    assert class_weights([0, 0, 0, 1], 3) == [4 / 6, 4 / 2, 1.0]


def test_the_loss_weighs_each_example_by_its_class():
    import torch

    from bioie_kedro.relation_extraction.classifier import _weighted_loss

    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    nll = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    loss = _weighted_loss([1.0, 3.0])
    expected = (nll[0] + 3 * nll[1] + 3 * nll[2]) / 3
    assert loss({"logits": logits}, labels) == pytest.approx(expected.item())
    # with gradient accumulation the Trainer passes the examples of the whole accumulated batch
    assert loss({"logits": logits}, labels, num_items_in_batch=6) == pytest.approx(
        expected.item() / 2
    )


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from bioie_kedro.relation_extraction.classifier import add_marker_tokens
    from bioie_kedro.token_classification import BUNDLED_MINILM, resolve_model_name

    tok = AutoTokenizer.from_pretrained(resolve_model_name(BUNDLED_MINILM))
    assert add_marker_tokens(tok) == 4
    return tok


def test_markers_are_single_tokens_and_long_texts_keep_them(tokenizer):
    from bioie_kedro.relation_extraction.classifier import encode_marked_texts

    tokens = tokenizer.tokenize("[E1]Aspirin[/E1] x [E2]pain[/E2]")
    assert tokens[0] == "[E1]" and tokens[-1] == "[/E2]" and "[/E1]" in tokens and "[E2]" in tokens
    filler = " ".join(["word"] * 100)
    text = f"{filler} [E1]aspirin[/E1] relieves [E2]pain[/E2] {filler}"
    (ids,), stats = encode_marked_texts(tokenizer, [text], max_length=32)
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert len(ids) == 32 and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert {"[E1]", "[/E1]", "[E2]", "[/E2]"} <= set(tokens)
    assert stats.as_dict() == {"texts": 1, "windowed": 1, "markers_cut": 0}
    far = f"[E1]aspirin[/E1] {filler} [E2]pain[/E2]"
    (ids,), stats = encode_marked_texts(tokenizer, [far], max_length=32)
    assert stats.markers_cut == 2 and tokenizer.convert_ids_to_tokens(ids)[1] == "[E1]"


def _constant_member(tokenizer, logits, labels=("none", "causes", "treats")):
    """A classifier whose model gives every text the same logits, seen through the real
    prediction path (encoding, batching by length, softmax)."""
    from types import SimpleNamespace

    import torch

    from bioie_kedro.relation_extraction.classifier import RelationClassifier

    class Constant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = SimpleNamespace(id2label=dict(enumerate(labels)))
            self.logits = torch.nn.Parameter(torch.tensor(logits, dtype=torch.float32))

        def forward(self, input_ids, attention_mask):
            assert input_ids.shape == attention_mask.shape
            return SimpleNamespace(logits=self.logits.expand(len(input_ids), -1))

    return RelationClassifier(Constant(), tokenizer, {"max_length": 32}, {})


def test_an_ensemble_averages_its_members_distributions(tokenizer):
    import numpy as np

    from bioie_kedro.relation_extraction.classifier import (
        predict_relation_labels,
        relation_probabilities,
    )

    def member(logits, labels=("none", "causes", "treats")):
        return _constant_member(tokenizer, logits, labels)

    texts = [text for text, _ in SENTENCES]
    # softmax([0, ln 3, 0]) = (.2, .6, .2); softmax([0, 0, ln 4]) = (1/6, 1/6, 4/6)
    causes, treats = member([0.0, np.log(3.0), 0.0]), member([0.0, 0.0, np.log(4.0)])
    probabilities, stats = relation_probabilities(causes, texts, batch_size=4)
    assert probabilities.shape == (len(texts), 3) and stats.examples == len(texts)
    assert np.allclose(probabilities, [0.2, 0.6, 0.2], atol=1e-6)

    alone, scores, _ = predict_relation_labels(causes, texts)
    assert alone == ["causes"] * len(texts) and scores == pytest.approx([0.6] * len(texts))
    # mean of the two: (.183, .383, .433): "treats" wins although "causes" wins one member by more
    both, scores, stats = predict_relation_labels([causes, treats], texts, batch_size=4)
    assert both == ["treats"] * len(texts)
    assert scores == pytest.approx([(0.2 + 4 / 6) / 2] * len(texts), abs=1e-6)
    assert stats.examples == len(texts)

    with pytest.raises(ValueError, match="member 1 has labels"):
        predict_relation_labels(
            [causes, member([0.0, 0.0, 0.0], ("none", "treats", "causes"))], texts
        )
    with pytest.raises(ValueError, match="at least one"):
        predict_relation_labels([], texts)


SENTENCES = [
    ("[E1]Aspirin[/E1] causes [E2]ulcers[/E2].", "causes"),
    ("[E1]Heparin[/E1] treats [E2]thrombosis[/E2].", "treats"),
    ("[E1]Aspirin[/E1] was given before [E2]ulcers[/E2] were seen.", "none"),
    ("[E1]Lithium[/E1] causes [E2]tremor[/E2].", "causes"),
    ("[E1]Insulin[/E1] treats [E2]diabetes[/E2].", "treats"),
    ("[E1]Lithium[/E1] and [E2]tremor[/E2] were recorded.", "none"),
]
LABELS = ["none", "causes", "treats"]


def tiny_dataset():
    def rows(split: str):
        return [
            {
                "id": f"{split}{i}",
                "document_key": f"toy/{split}/d{i}",
                "sentence_key": f"toy/{split}/d{i}/s0",
                "head_id": "T1",
                "tail_id": "T2",
                "head_type": "Chemical",
                "tail_type": "Disease",
                "text": text,
                "label": label,
            }
            for i, (text, label) in enumerate(SENTENCES)
        ]

    return to_dataset_dict(
        {"train": rows("train") * 2, "validation": rows("validation"), "test": rows("test")},
        LABELS,
    )


# bf16 on the entity-start run: mixed-precision training on a CPU (autocast runs everywhere,
# fast only where the CPU has bf16 units); the returned model must predict as its reloaded copy
@pytest.mark.parametrize(("pooling", "bf16"), [("cls", False), ("entity_start", True)])
def test_a_few_training_steps_save_reload_and_predict(tmp_path, pooling, bf16):
    from kedro.io import Version

    from bioie_kedro.datasets import RelationClassifierDataset
    from bioie_kedro.relation_extraction.classifier import (
        labels_from_probabilities,
        predict_relation_labels,
        relation_probabilities,
        train_relation_classifier,
    )

    dataset = tiny_dataset()
    settings = RelationTrainingSettings(
        learning_rate=5e-4,
        per_device_train_batch_size=4,
        max_steps=3,
        num_train_epochs=1,
        max_length=32,
        logging_steps=1,
        pooling=pooling,
        bf16=bf16,
    )
    student = train_relation_classifier(dataset, settings, output_dir=tmp_path / "checkpoints")
    log = student.training_log
    assert log["global_steps"] == 3 and log["bf16"] is bf16
    assert log["validation_history"] and "positive_macro_f1" in log["validation_history"][0]
    assert log["best_validation_positive_macro_f1"] is not None
    assert log["selection_metric"] == "positive_macro_f1"
    assert log["best_validation_metric"] == log["best_validation_positive_macro_f1"]
    assert log["best_validation_positive_micro_f1"] is not None
    assert log["class_weights"] == {"none": 1.0, "causes": 1.0, "treats": 1.0}
    assert student.labels == LABELS
    assert student.model.get_input_embeddings().num_embeddings == len(student.tokenizer)
    # the validation metric lines predictions up with the dataset's labels (evaluation in order)
    from bioie_kedro.relation_extraction.classifier import classification_scores

    validation, _, _ = predict_relation_labels(student, dataset["validation"]["text"])
    gold = [LABELS[i] for i in dataset["validation"]["label"]]
    assert classification_scores(gold, validation)["positive_macro_f1"] == pytest.approx(
        log["best_validation_positive_macro_f1"]
    )

    store = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, "2026-01-01T00.00.00.000Z")
    )
    store.save(student)
    saved = tmp_path / "student" / "2026-01-01T00.00.00.000Z" / "student"
    assert {
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "bioie_relation_classifier.json",
    } <= {p.name for p in saved.iterdir()}
    meta = json.loads((saved / "bioie_relation_classifier.json").read_text())
    assert meta["labels"] == LABELS and meta["settings"]["pooling"] == pooling
    reloaded = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, None)
    ).load()
    texts = dataset["test"]["text"]
    before, scores, _ = predict_relation_labels(student, texts)
    after, scores_after, stats = predict_relation_labels(reloaded, texts, batch_size=4)
    # in fp32 both (a bf16 forward would differ in the third decimal)
    assert before == after and scores == pytest.approx(scores_after, abs=1e-5)
    assert set(after) <= set(LABELS) and stats.examples == len(texts)
    # under bf16 autocast the probabilities move a little (so autocast is on) and stay close
    import numpy as np

    fp32_probabilities, _ = relation_probabilities(reloaded, texts)
    bf16_probabilities, bf16_stats = relation_probabilities(reloaded, texts, bf16=True)
    gap = np.abs(fp32_probabilities - bf16_probabilities).max()
    assert 0 < gap < 0.05 and bf16_stats.examples == len(texts)
    assert predict_relation_labels(reloaded, texts, bf16=True)[0] == [
        LABELS[i] for i in bf16_probabilities.argmax(-1)
    ]

    # a decision threshold travels with the model and is what prediction uses by default
    assert reloaded.none_scale == 1.0 and meta["none_scale"] == 1.0
    student.none_scale = 64.0
    RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, "2026-01-02T00.00.00.000Z")
    ).save(student)
    rescaled = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, None)
    ).load()
    assert rescaled.none_scale == 64.0
    probabilities, _ = relation_probabilities(rescaled, texts)
    expected, _ = labels_from_probabilities(probabilities, LABELS, none_scale=64.0)
    assert predict_relation_labels(rescaled, texts)[0] == expected
    assert predict_relation_labels(rescaled, texts, none_scale=1.0)[0] == after
    student.none_scale = 1.0

    # predictions become mention-level relations of the documents they come from
    text = "Aspirin causes ulcers."
    doc = Document(
        "d0",
        "toy",
        "test",
        text,
        entities=[
            Entity("T1", "Chemical", "Aspirin", [(0, 7)]),
            Entity("T2", "Disease", "ulcers", [(15, 21)]),
        ],
        relations=[Relation("R9", "CID", "MESH:1", "MESH:2", level="concept")],
    )
    rows = dataset["test"].to_list()[:2]
    predicted = documents_with_predicted_relations(
        [doc], rows, ["causes", "none"], scores=[0.9, 0.8]
    )
    assert predicted[0].relations == [
        Relation("R1", "causes", "T1", "T2", attributes={"score": "0.9000"})
    ]
    assert documents_with_predicted_relations([doc], rows, ["none", "none"])[0].relations == []


def stepwise_settings(**overrides) -> RelationTrainingSettings:
    """Four steps on the tiny dataset, an evaluation and a checkpoint after each."""
    defaults = {
        "learning_rate": 5e-4,
        "per_device_train_batch_size": 4,
        "max_steps": 4,
        "eval_strategy": "steps",
        "eval_steps": 1,
        "max_length": 32,
        "logging_steps": 1,
        "early_stopping_patience": 10,
    }
    return RelationTrainingSettings(**{**defaults, **overrides})


def test_how_often_the_student_is_evaluated_does_not_change_its_training(tmp_path):
    import torch
    from safetensors.torch import load_file

    from bioie_kedro.relation_extraction.classifier import train_relation_classifier

    final = {}
    for eval_steps in (1, 2):
        output = tmp_path / f"every_{eval_steps}"
        settings = stepwise_settings(eval_steps=eval_steps, save_total_limit=None)
        student = train_relation_classifier(tiny_dataset(), settings, output_dir=output)
        history = student.training_log["validation_history"]
        assert [e["step"] for e in history] == list(range(eval_steps, 5, eval_steps))
        final[eval_steps] = load_file(output / "checkpoint-4" / "model.safetensors")
    assert final[1].keys() == final[2].keys()
    # dropout is on in training: had the four evaluations drawn from the generator dropout uses,
    # the weights after step 4 would differ from those of the run evaluated twice
    assert all(torch.equal(final[1][name], final[2][name]) for name in final[1])


@pytest.mark.parametrize("metric", ["positive_macro_f1", "positive_micro_f1"])
def test_the_selection_metric_picks_the_checkpoint_kept_and_every_one_can_be_kept(tmp_path, metric):
    from bioie_kedro.relation_extraction.classifier import train_relation_classifier

    settings = stepwise_settings(selection_metric=metric, save_total_limit=None)
    student = train_relation_classifier(
        tiny_dataset(), settings, output_dir=tmp_path / "checkpoints"
    )
    log = student.training_log
    history = log["validation_history"]
    assert [e["step"] for e in history] == [1, 2, 3, 4]
    # every evaluation's checkpoint stays (save_total_limit None)
    kept = sorted(p.name for p in (tmp_path / "checkpoints").glob("checkpoint-*"))
    assert kept == [f"checkpoint-{n}" for n in (1, 2, 3, 4)]
    assert log["selection_metric"] == metric
    assert log["best_validation_metric"] == max(e[metric] for e in history)
    chosen = next(e for e in history if e[metric] == log["best_validation_metric"])
    assert log["best_validation_positive_macro_f1"] == chosen["positive_macro_f1"]
    assert log["best_validation_positive_micro_f1"] == chosen["positive_micro_f1"]
    with pytest.raises(ValueError, match="selection_metric"):
        train_relation_classifier(
            tiny_dataset(),
            RelationTrainingSettings(selection_metric="accuracy"),
            output_dir=tmp_path / "other",
        )


@pytest.mark.parametrize("limit", [2, None])
def test_the_final_student_can_be_the_mean_of_its_last_checkpoints(tmp_path, limit):
    import torch
    from safetensors.torch import load_file

    from bioie_kedro.relation_extraction.classifier import (
        relation_probabilities,
        train_relation_classifier,
    )

    settings = stepwise_settings(average_last_checkpoints=3, save_total_limit=limit)
    dataset = tiny_dataset()
    student = train_relation_classifier(dataset, settings, output_dir=tmp_path / "checkpoints")
    report = student.training_log["weight_average"]
    assert report["checkpoints"] == ["checkpoint-2", "checkpoint-3", "checkpoint-4"]
    # the checkpoints averaged were kept even under a limit of 2
    states = [
        load_file(str(tmp_path / "checkpoints" / n / "model.safetensors"))
        for n in report["checkpoints"]
    ]
    weights = student.model.state_dict()
    for name in ("classifier.weight", "encoder.embeddings.word_embeddings.weight"):
        mean = sum(state[name].double() for state in states) / 3
        assert torch.allclose(weights[name].double(), mean, atol=1e-6)
        assert not torch.allclose(states[0][name], states[-1][name])  # the steps moved it
    # the averaged model is the one that predicts and was scored on validation
    from bioie_kedro.relation_extraction.classifier import classification_scores

    probabilities, _ = relation_probabilities(student, dataset["validation"]["text"])
    gold = [LABELS[i] for i in dataset["validation"]["label"]]
    predicted = [LABELS[i] for i in probabilities.argmax(-1)]
    assert classification_scores(gold, predicted)["positive_micro_f1"] == pytest.approx(
        report["validation_positive_micro_f1"]
    )
    with pytest.raises(ValueError, match="average_last_checkpoints"):
        train_relation_classifier(
            dataset,
            RelationTrainingSettings(average_last_checkpoints=-1),
            output_dir=tmp_path / "other",
        )


def test_the_student_can_be_an_ensemble_of_its_last_checkpoints(tmp_path):
    """`snapshot_last_checkpoints`: one run's last checkpoints become the members of an ensemble
    (each with exactly that checkpoint's weights), kept under a save limit, saved and reloaded; a
    seed ensemble of snapshot students is one flat ensemble; averaging and snapshots exclude each
    other."""
    import numpy as np
    import torch
    from kedro.io import Version
    from safetensors.torch import load_file

    from bioie_kedro.datasets import RelationClassifierDataset
    from bioie_kedro.pipelines.synthetic_labels.params import StudentParams
    from bioie_kedro.relation_extraction.classifier import (
        ENSEMBLE_FILE,
        RelationClassifierEnsemble,
        predict_relation_labels,
        relation_probabilities,
        train_relation_classifier,
        train_relation_ensemble,
    )

    dataset = tiny_dataset()
    settings = stepwise_settings(snapshot_last_checkpoints=3, save_total_limit=2)
    student = train_relation_classifier(dataset, settings, output_dir=tmp_path / "checkpoints")
    assert isinstance(student, RelationClassifierEnsemble) and len(student) == 3
    names = ["checkpoint-2", "checkpoint-3", "checkpoint-4"]
    history = {e["step"]: e for e in student.members[0].training_log["validation_history"]}
    for name, member in zip(names, student, strict=True):
        snapshot = member.training_log["snapshot"]
        assert snapshot["checkpoint"] == name  # kept even under a limit of 2
        step = int(name.rpartition("-")[2])
        assert snapshot["validation_positive_micro_f1"] == history[step]["positive_micro_f1"]
        state = load_file(str(tmp_path / "checkpoints" / name / "model.safetensors"))
        weights = member.model.state_dict()
        for key in ("classifier.weight", "encoder.embeddings.word_embeddings.weight"):
            assert torch.equal(weights[key], state[key])
    first, second = (m.model.state_dict()["classifier.weight"] for m in student.members[:2])
    assert not torch.equal(first, second)  # distinct members, not one model three times

    texts = dataset["test"]["text"]
    each = [relation_probabilities(m, texts)[0] for m in student]
    mean = sum(each) / 3
    predicted, scores, _ = predict_relation_labels(student, texts)
    assert predicted == [LABELS[i] for i in mean.argmax(-1)]
    assert scores == pytest.approx(mean.max(-1).tolist(), abs=1e-6)

    store = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, "2026-01-01T00.00.00.000Z")
    )
    store.save(student)
    saved = tmp_path / "student" / "2026-01-01T00.00.00.000Z" / "student"
    assert json.loads((saved / ENSEMBLE_FILE).read_text())["checkpoints"] == names
    reloaded = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, None)
    ).load()
    assert [m.training_log["snapshot"]["checkpoint"] for m in reloaded] == names
    again, _, _ = predict_relation_labels(reloaded, texts)
    assert again == predicted

    seeds = train_relation_ensemble(
        dataset,
        stepwise_settings(snapshot_last_checkpoints=2, max_steps=2),
        [1, 2],
        output_dir=tmp_path / "seeds",
    )
    assert [m.settings["seed"] for m in seeds] == [1, 1, 2, 2]
    assert [m.training_log["snapshot"]["checkpoint"] for m in seeds] == [
        "checkpoint-1",
        "checkpoint-2",
    ] * 2
    assert not np.allclose(
        relation_probabilities(seeds.members[1], texts)[0],
        relation_probabilities(seeds.members[3], texts)[0],
        atol=1e-4,
    )

    both = stepwise_settings(snapshot_last_checkpoints=2, average_last_checkpoints=2)
    with pytest.raises(ValueError, match="exclude each other"):
        train_relation_classifier(dataset, both, output_dir=tmp_path / "other")
    with pytest.raises(ValueError, match="snapshot_last_checkpoints must be 0 or more"):
        train_relation_classifier(
            dataset, stepwise_settings(snapshot_last_checkpoints=-1), output_dir=tmp_path / "x"
        )
    with pytest.raises(ValueError, match="exclude each other"):
        StudentParams(average_last_checkpoints=3, snapshot_last_checkpoints=5)
    assert StudentParams(snapshot_last_checkpoints=5).settings().snapshot_last_checkpoints == 5


def test_checkpoint_weights_average_and_a_foreign_checkpoint_is_refused(tmp_path):
    import torch
    from safetensors.torch import save_file

    from bioie_kedro.encoder_training import average_checkpoint_weights, checkpoints_by_step

    model = torch.nn.Linear(2, 1)
    for step, value in ((10, 1.0), (2, 3.0), (7, 5.0)):
        directory = tmp_path / f"checkpoint-{step}"
        directory.mkdir()
        save_file(
            {"weight": torch.full((1, 2), value), "bias": torch.full((1,), value)},
            str(directory / "model.safetensors"),
        )
    (tmp_path / "checkpoint-x").mkdir()
    found = checkpoints_by_step(tmp_path)
    assert [p.name for p in found] == ["checkpoint-2", "checkpoint-7", "checkpoint-10"]
    average_checkpoint_weights(model, found[-2:])
    assert model.weight.tolist() == [[3.0, 3.0]] and model.bias.tolist() == [3.0]
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    save_file({"weight": torch.zeros(1, 2)}, str(foreign / "model.safetensors"))
    with pytest.raises(ValueError, match="foreign.*missing \\['bias'\\]"):
        average_checkpoint_weights(model, [found[0], foreign])
    with pytest.raises(FileNotFoundError, match="checkpoint-x"):
        average_checkpoint_weights(model, [tmp_path / "checkpoint-x"])


def test_the_entity_start_head_reads_the_two_start_markers(tokenizer):
    import torch
    from transformers import AutoModel

    from bioie_kedro.relation_extraction.classifier import (
        encode_marked_texts,
        entity_start_classifier,
    )
    from bioie_kedro.token_classification import BUNDLED_MINILM, resolve_model_name

    torch.manual_seed(0)
    encoder = AutoModel.from_pretrained(
        resolve_model_name(BUNDLED_MINILM), num_labels=3, id2label=dict(enumerate(LABELS))
    )
    encoder.resize_token_embeddings(len(tokenizer))
    e1, e2 = tokenizer.convert_tokens_to_ids(["[E1]", "[E2]"])
    model = entity_start_classifier(encoder, [e1, e2]).eval()
    texts = ["Heparin treats [E2]thrombosis[/E2] and [E1]aspirin[/E1] does not.", "no markers"]
    ids, _ = encode_marked_texts(tokenizer, texts, max_length=32)
    width = max(map(len, ids))
    input_ids = torch.tensor([row + [0] * (width - len(row)) for row in ids])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids])
    with torch.inference_mode():
        logits = model(input_ids=input_ids, attention_mask=mask).logits
        hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
    head, tail = ids[0].index(e1), ids[0].index(e2)
    assert tail < head  # the head marker is found wherever it stands
    expected = model.classifier(torch.cat([hidden[0, head], hidden[0, tail]]))
    assert torch.allclose(logits[0], expected, atol=1e-5)
    # a row whose markers were cut reads its first token twice
    fallback = model.classifier(torch.cat([hidden[1, 0], hidden[1, 0]]))
    assert torch.allclose(logits[1], fallback, atol=1e-5)
    assert logits.shape == (2, 3)


def test_bf16_setting_resolves_auto_from_the_hardware(monkeypatch):
    import torch

    from bioie_kedro.encoder_training import resolve_bf16

    assert resolve_bf16(True) is True and resolve_bf16(False) is False
    with pytest.raises(ValueError, match="'yes'"):
        resolve_bf16("yes")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert resolve_bf16("auto") is False
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    assert resolve_bf16("auto") is True
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert resolve_bf16("auto") is False


def test_an_ensemble_of_seeds_trains_saves_reloads_and_predicts_as_one(tmp_path):
    """`student.ensemble_seeds`: the train_student node trains one student per seed; the catalog
    dataset saves them as one versioned directory and loads an ensemble again."""
    import numpy as np
    from kedro.io import DatasetError, Version

    from bioie_kedro.datasets import RelationClassifierDataset
    from bioie_kedro.pipelines.synthetic_labels.nodes import train_student
    from bioie_kedro.relation_extraction.classifier import (
        ENSEMBLE_FILE,
        RelationClassifierEnsemble,
        labels_from_probabilities,
        predict_relation_labels,
        relation_probabilities,
        tune_none_scale,
    )

    dataset = tiny_dataset()
    params = {
        "corpus": "toy",
        "relation_specs": {"Chemical|Disease": ["causes", "treats"]},
        "trainer_output_dir": str(tmp_path / "checkpoints"),
        "student": {
            "learning_rate": 5e-4,
            "per_device_train_batch_size": 4,
            "max_steps": 2,
            "max_length": 32,
            "logging_steps": 1,
            "ensemble_seeds": [1, 2],
            "tune_none_scale": True,
        },
    }
    ensemble = train_student(dataset, params)
    assert isinstance(ensemble, RelationClassifierEnsemble) and len(ensemble) == 2
    assert [m.settings["seed"] for m in ensemble] == [1, 2] and ensemble.labels == LABELS
    assert all(m.training_log["global_steps"] == 2 for m in ensemble)
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["seed-1", "seed-2"]

    texts = dataset["test"]["text"]
    first, _ = relation_probabilities(ensemble.members[0], texts)
    second, _ = relation_probabilities(ensemble.members[1], texts)
    assert not np.allclose(first, second, atol=1e-4)  # the seeds made two different students
    plain, scores, stats = predict_relation_labels(ensemble, texts, none_scale=1.0)
    mean = (first + second) / 2
    assert plain == [LABELS[i] for i in mean.argmax(-1)] and stats.examples == len(texts)
    assert scores == pytest.approx(mean.max(-1).tolist(), abs=1e-6)

    # the decision threshold was chosen on validation, for the averaged distribution
    validation = dataset["validation"]
    gold = [LABELS[i] for i in validation["label"]]
    dev_mean = sum(relation_probabilities(m, validation["text"])[0] for m in ensemble) / 2
    scale, curve = tune_none_scale(dev_mean, gold, LABELS)
    assert ensemble.none_scale == scale and ensemble.decision_threshold["tuned"] == curve[scale]
    assert ensemble.decision_threshold["plain"] == curve[1.0] <= curve[scale]
    predicted, scores, _ = predict_relation_labels(ensemble, texts)  # with its own none_scale
    expected, expected_scores = labels_from_probabilities(mean, LABELS, none_scale=scale)
    assert predicted == expected and scores == pytest.approx(expected_scores, abs=1e-6)

    store = RelationClassifierDataset(
        path=str(tmp_path / "student"), version=Version(None, "2026-01-01T00.00.00.000Z")
    )
    store.save(ensemble)
    saved = tmp_path / "student" / "2026-01-01T00.00.00.000Z" / "student"
    meta = json.loads((saved / ENSEMBLE_FILE).read_text())
    assert meta["members"] == ["member-00", "member-01"] and meta["seeds"] == [1, 2]
    assert meta["labels"] == LABELS and meta["none_scale"] == scale
    assert meta["decision_threshold"]["examples"] == len(gold)
    assert all((saved / name / "model.safetensors").is_file() for name in meta["members"])
    latest = RelationClassifierDataset(path=str(tmp_path / "student"), version=Version(None, None))
    assert latest.exists()
    reloaded = latest.load()
    assert isinstance(reloaded, RelationClassifierEnsemble) and len(reloaded) == 2
    assert reloaded.none_scale == scale
    after, scores_after, _ = predict_relation_labels(reloaded, texts, batch_size=4)
    assert after == predicted and scores_after == pytest.approx(scores, abs=1e-5)

    # a listed member must be one of the folders save() writes, never a path elsewhere
    (saved / ENSEMBLE_FILE).write_text(json.dumps({**meta, "members": ["member-00", "../x"]}))
    with pytest.raises(DatasetError, match=r"'\.\./x' is not a member folder name"):
        latest.load()
    (saved / ENSEMBLE_FILE).write_text(json.dumps({**meta, "members": ["member-00", "member-07"]}))
    with pytest.raises(DatasetError, match="member-07"):
        latest.load()
    (saved / ENSEMBLE_FILE).write_text(json.dumps({**meta, "none_scale": -1}))
    with pytest.raises(DatasetError, match="none_scale must be a positive number"):
        latest.load()
    with pytest.raises(DatasetError, match="saves a .*RelationClassifier or .*Ensemble"):
        store.save("not a model")
    with pytest.raises(ValueError, match="repeat"):
        train_student(
            dataset, {**params, "student": {**params["student"], "ensemble_seeds": [3, 3]}}
        )


def test_a_none_scale_tuned_on_held_out_rows_moves_the_decision_threshold():
    import numpy as np

    from bioie_kedro.relation_extraction.classifier import (
        labels_from_probabilities,
        tune_none_scale,
    )

    # two positives the model is unsure of (none .55 / .6) and two clear negatives (none .9)
    probabilities = np.array(
        [[0.55, 0.45, 0.0], [0.6, 0.1, 0.3], [0.9, 0.1, 0.0], [0.9, 0.0, 0.1]], dtype=np.float32
    )
    gold = ["causes", "treats", "none", "none"]
    predicted, scores = labels_from_probabilities(probabilities, LABELS)
    assert predicted == ["none"] * 4 and scores == pytest.approx([0.55, 0.6, 0.9, 0.9])
    predicted, scores = labels_from_probabilities(probabilities, LABELS, none_scale=0.45)
    assert predicted == ["causes", "treats", "none", "none"]  # .6 * .45 = .27 < .3
    assert scores == pytest.approx([0.45, 0.3, 0.9, 0.9])  # the label's own probability

    scale, curve = tune_none_scale(probabilities, gold, LABELS)
    assert curve[scale] == 1.0 and curve[1.0] == 0.0
    # the largest winning scale is chosen (nearest 1): .6 * s < .3 needs s < .5, .9 * s > .1
    assert scale == pytest.approx(2 ** (-5 / 4)) and 0.3 / 0.6 > scale > 0.1 / 0.9
    assert curve[2 ** (-4 / 4)] < 1.0  # s = .5 ties .3 on the second row: argmax keeps none
    # already right at 1: ties keep 1
    scale, _ = tune_none_scale(probabilities, ["none"] * 4, LABELS)
    assert scale == 1.0

    with pytest.raises(ValueError, match="no 'none'"):
        tune_none_scale(probabilities, gold, ["a", "b", "c"])
    with pytest.raises(ValueError, match="3 gold labels"):
        tune_none_scale(probabilities, gold[:3], LABELS)
    with pytest.raises(ValueError, match="positive number"):
        labels_from_probabilities(probabilities, LABELS, none_scale=0)
    with pytest.raises(ValueError, match="do not match 2 labels"):
        labels_from_probabilities(probabilities, LABELS[:2])
