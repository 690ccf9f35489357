"""Token classification: sub-token alignment, windows, decoding, and the saved model's label map."""

from __future__ import annotations

import json

import pytest

from bioie_kedro.schema import Document, Entity
from bioie_kedro.segmentation import segment_document
from bioie_kedro.token_classification import (
    BUNDLED_MINILM,
    IGNORE_INDEX,
    TokenClassifier,
    WordExample,
    _majority_label,
    _repair_iob2,
    _word_windows,
    build_examples,
    documents_with_predictions,
    encode_examples,
    label_list,
    resolve_model_name,
    strict_f1_from_tags,
    word_tags_from_windows,
)

LABELS = label_list(["Disease", "Chemical"])
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_model_name(BUNDLED_MINILM))


def perfect_predictions(windows, examples, subtoken_labels="first"):
    """What a perfect model predicts: every sub-token of a word gets its word's label."""
    out = []
    for window in windows:
        tags = examples[window.example_index].tags
        row = []
        for word in window.word_index:
            tag = tags[word] if word >= 0 else "O"
            row.append(LABEL2ID[tag])
        out.append(row)
    return out


def test_label_list_is_stable():
    assert LABELS == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]


def test_first_and_all_subtoken_labels(tokenizer):
    example = WordExample(
        "d", 0, ["Nephrotoxicity", "after", "cisplatin"], ["B-Disease", "O", "B-Chemical"]
    )
    (first,), _ = encode_examples([example], tokenizer, LABEL2ID, subtoken_labels="first")
    (every,), _ = encode_examples([example], tokenizer, LABEL2ID, subtoken_labels="all")
    pieces = [len(tokenizer(w, add_special_tokens=False)["input_ids"]) for w in example.words]
    assert pieces[0] > 1  # "nephrotoxicity" is split into several word pieces
    assert (
        first.input_ids[0] == tokenizer.cls_token_id
        and first.input_ids[-1] == tokenizer.sep_token_id
    )
    assert first.word_index == [-1] + [0] * pieces[0] + [1] * pieces[1] + [2] * pieces[2] + [-1]
    b_dis, i_dis, b_chem = LABEL2ID["B-Disease"], LABEL2ID["I-Disease"], LABEL2ID["B-Chemical"]
    assert first.labels[1 : 1 + pieces[0]] == [b_dis] + [IGNORE_INDEX] * (pieces[0] - 1)
    assert every.labels[1 : 1 + pieces[0]] == [b_dis] + [i_dis] * (pieces[0] - 1)
    assert first.labels[0] == IGNORE_INDEX and first.labels[-1] == IGNORE_INDEX
    assert b_chem in first.labels


def test_context_words_are_not_labelled(tokenizer):
    example = WordExample(
        "d", 1, ["Lithium"], ["B-Chemical"], left_context=["Before", "."], right_context=["After"]
    )
    (window,), stats = encode_examples([example], tokenizer, LABEL2ID)
    labelled = [label for label in window.labels if label != IGNORE_INDEX]
    assert labelled == [LABEL2ID["B-Chemical"]]
    assert window.word_index.count(0) == len(
        tokenizer("Lithium", add_special_tokens=False)["input_ids"]
    )
    assert stats.context_trimmed == 0


def test_word_windows_cover_everything_with_overlap():
    assert _word_windows([1, 1, 1], budget=10, stride=1) == [(0, 3)]
    windows = _word_windows([2] * 20, budget=10, stride=2)
    assert windows[0] == (0, 5) and all(b - a <= 5 for a, b in windows)
    covered = {w for a, b in windows for w in range(a, b)}
    assert covered == set(range(20))
    assert all(windows[i + 1][0] == windows[i][1] - 2 for i in range(len(windows) - 1))
    assert _word_windows([50, 1], budget=10, stride=2)[0] == (0, 1)  # one over-long word alone


@pytest.mark.parametrize("subtoken_labels", ["first", "all"])
def test_long_sentence_is_windowed_and_merged_back_exactly(tokenizer, subtoken_labels):
    words, tags = [], []
    for i in range(150):
        words += ["cisplatin", "caused", "renal", "failure", f"x{i}"]
        tags += ["B-Chemical", "O", "B-Disease", "I-Disease", "O"]
    example = WordExample("long", 0, words, tags)
    windows, stats = encode_examples(
        [example], tokenizer, LABEL2ID, max_length=64, stride=8, subtoken_labels=subtoken_labels
    )
    assert stats.sentences_windowed == 1 and stats.windows == len(windows) > 10
    assert all(len(w.input_ids) <= 64 for w in windows)
    decoded = word_tags_from_windows(
        [example],
        windows,
        perfect_predictions(windows, [example]),
        ID2LABEL,
        subtoken_labels=subtoken_labels,
    )
    assert decoded == [tags]


def test_majority_vote_and_repair():
    assert _majority_label(["B-Disease", "O", "I-Disease"]) == "B-Disease"
    assert _majority_label(["O", "I-Disease", "I-Disease"]) == "I-Disease"
    assert _majority_label(["O", "B-Chemical"]) == "O"  # tie: the first seen wins
    assert _repair_iob2(["O", "I-Disease", "I-Disease", "I-Chemical"]) == [
        "O",
        "B-Disease",
        "I-Disease",
        "B-Chemical",
    ]


def test_strict_f1_from_tags():
    gold = [["B-Disease", "I-Disease", "O", "B-Chemical"]]
    pred = [["B-Disease", "O", "O", "B-Chemical"]]
    # gold {(0,2,D), (3,4,C)}, predicted {(0,1,D), (3,4,C)}: 1 of 2 each way
    assert strict_f1_from_tags(gold, pred) == {
        "strict_precision": 0.5,
        "strict_recall": 0.5,
        "strict_f1": 0.5,
    }


def demo_doc() -> Document:
    text = "Cisplatin caused acute renal failure. It resolved."
    doc = Document(
        "1",
        "demo",
        "test",
        text,
        entities=[
            Entity("T1", "Chemical", "Cisplatin", [(0, 9)]),
            Entity("T2", "Disease", "acute renal failure", [(17, 36)]),
        ],
    )
    return segment_document(doc)


def test_predicted_tags_become_entities_with_character_spans():
    doc = demo_doc()
    examples, _ = build_examples([doc])
    predicted = documents_with_predictions([doc], examples, [e.tags for e in examples])
    assert [(e.type, e.text, e.offsets) for e in predicted[0].entities] == [
        ("Chemical", "Cisplatin", [(0, 9)]),
        ("Disease", "acute renal failure", [(17, 36)]),
    ]
    assert predicted[0].text == doc.text and predicted[0].relations == []


@pytest.mark.real_data
def test_tags_entities_tags_identity_on_ncbi_dev(shared_data):
    from bioie_kedro.corpora.pubtator import read_pubtator

    type_map = dict.fromkeys(
        ["SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention"], "Disease"
    )
    docs = [
        segment_document(d)
        for d in read_pubtator(
            shared_data / "ncbi_disease" / "NCBIdevelopset_corpus.txt", source="n", split="dev"
        ).documents
    ]
    examples, policy = build_examples(docs, type_map=type_map)
    assert policy["tagged"] == 787
    predicted = documents_with_predictions(docs, examples, [e.tags for e in examples])
    again, _ = build_examples(predicted)
    assert [e.tags for e in again] == [e.tags for e in examples]
    assert sum(len(d.entities) for d in predicted) == 787


def tiny_classifier(tokenizer) -> TokenClassifier:
    from transformers import BertConfig, BertForTokenClassification

    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        num_labels=len(LABELS),
        id2label=ID2LABEL,
        label2id=LABEL2ID,
    )
    return TokenClassifier(
        BertForTokenClassification(config),
        tokenizer,
        {"max_length": 64, "type_map": {"X": "Y"}},
        {"train_seconds": 1.0},
    )


def test_label_map_and_settings_are_saved_and_restored(tokenizer, tmp_path):
    from kedro.io import DatasetError, Version

    from bioie_kedro.datasets import TokenClassifierDataset
    from bioie_kedro.token_classification import predict_documents

    classifier = tiny_classifier(tokenizer)
    dataset = TokenClassifierDataset(
        path=str(tmp_path / "model"), version=Version(None, "2026-01-01T00.00.00.000Z")
    )
    dataset.save(classifier)
    saved = tmp_path / "model" / "2026-01-01T00.00.00.000Z" / "model"
    assert (saved / "model.safetensors").is_file() and not list(tmp_path.glob("**/*.partial-*"))
    assert json.loads((saved / "config.json").read_text())["id2label"]["3"] == "B-Disease"
    restored = TokenClassifierDataset(
        path=str(tmp_path / "model"), version=Version(None, None)
    ).load()
    assert restored.id2label == ID2LABEL
    assert restored.settings == classifier.settings and restored.training_log == {
        "train_seconds": 1.0
    }
    # same weights: same predictions
    a, _ = predict_documents(classifier, [demo_doc()])
    b, _ = predict_documents(restored, [demo_doc()])
    assert a == b
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="holds no token classifier"):
        TokenClassifierDataset(path=str(tmp_path / "empty")).load()


def test_quantized_prediction_runs(tokenizer):
    from bioie_kedro.token_classification import predict_documents

    docs, stats = predict_documents(tiny_classifier(tokenizer), [demo_doc()], quantize=True)
    assert stats.sentences == 2 and docs[0].text == demo_doc().text


def test_prediction_command_reads_text_and_pubtator(tokenizer, tmp_path, capsys):
    from bioie_kedro.predict import documents_from_text, main

    classifier = tiny_classifier(tokenizer)
    classifier.save(tmp_path / "model")
    (tmp_path / "in.txt").write_text(
        "Cisplatin caused renal failure.\nIt resolved.\n\nSecond text here.\n"
    )
    assert main([str(tmp_path / "model"), str(tmp_path / "in.txt"), "--output-format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [d["id"] for d in out] == ["1", "2"]
    assert out[0]["text"] == "Cisplatin caused renal failure. It resolved."
    for doc in out:
        for entity in doc["entities"]:
            assert doc["text"][entity["start"] : entity["end"]] == entity["text"]
    pubtator = tmp_path / "in.PubTator.txt"
    pubtator.write_text("7|t|Lithium toxicity.\n7|a|Seen in rats.\n\n")
    target = tmp_path / "out.txt"
    assert (
        main(
            [
                str(tmp_path / "model"),
                str(pubtator),
                "--input-format",
                "pubtator",
                "--output",
                str(target),
            ]
        )
        == 0
    )
    assert target.read_text().startswith("7|t|Lithium toxicity.\n7|a|Seen in rats.\n")
    assert documents_from_text("\n\n") == []
    assert main([str(tmp_path / "nope"), str(pubtator)]) == 2


def test_propagate_mentions_tags_other_occurrences_in_the_document():
    from bioie_kedro.token_classification import propagate_mentions

    text = "Adenomatous polyposis coli (APC) is rare. APC carriers and APCs differ; apc too."
    doc = Document(
        "1",
        "x",
        "test",
        text,
        entities=[
            Entity("P1", "Disease", "Adenomatous polyposis coli", [(0, 26)]),
            Entity("P2", "Disease", "APC", [(28, 31)]),
        ],
    )
    out = propagate_mentions(doc)
    # the second "APC" is added; "APCs" (inside a word) and "apc" (other case) are not
    assert [(e.text, e.offsets) for e in out.entities] == [
        ("Adenomatous polyposis coli", [(0, 26)]),
        ("APC", [(28, 31)]),
        ("APC", [(42, 45)]),
    ]
    assert propagate_mentions(Document("2", "x", "t", "nothing")).entities == []


def _predicted(text: str, *mentions: str, entity_type: str = "Disease") -> Document:
    entities = []
    for i, mention in enumerate(mentions):
        start = text.index(mention)
        entities.append(Entity(f"P{i}", entity_type, mention, [(start, start + len(mention))]))
    return Document("1", "x", "test", text, entities=entities)


@pytest.mark.parametrize(
    ("short", "before", "long_form"),
    [
        ("CD", "syndromes  Cowden disease", "Cowden disease"),
        ("SCA1", "type I spinocerebellar ataxias 1 and 2", "spinocerebellar ataxias 1 and 2"),
        ("T-PLL", "sporadic T-cell prolymphocytic leukaemia", "T-cell prolymphocytic leukaemia"),
        (
            "HNPCC",
            "hereditary nonpolyposis colorectal cancer",
            "hereditary nonpolyposis colorectal cancer",
        ),
        ("XYZ", "patients with breast cancer", None),
        # the first letter must start a word: "BC" is not "abc"
        ("BC", "abc", None),
    ],
)
def test_schwartz_hearst_long_form(short, before, long_form):
    from bioie_kedro.token_classification import schwartz_hearst_long_form

    start = schwartz_hearst_long_form(short, before)
    assert (None if start is None else before[start:]) == long_form


def test_resolve_abbreviations_tags_every_occurrence_of_a_defined_short_form():
    from bioie_kedro.token_classification import resolve_abbreviations

    text = (
        "Two syndromes: Cowden disease (CD; MIM 158350) and BZS. Of 37 CD families, "
        "30 had CD mutations; CDs and cd are other words."
    )
    out = resolve_abbreviations(_predicted(text, "Cowden disease"))
    assert [(e.text, e.start, e.type) for e in out.entities] == [
        ("Cowden disease", 15, "Disease"),
        ("CD", 31, "Disease"),
        ("CD", text.index("CD families"), "Disease"),
        ("CD", text.index("CD mutations"), "Disease"),
    ]
    assert all(text[e.start : e.end] == e.text for e in out.entities)
    assert len({e.id for e in out.entities}) == 4


def test_resolve_abbreviations_leaves_what_the_mention_lacks_and_unpredicted_long_forms():
    from bioie_kedro.token_classification import resolve_abbreviations

    lacks = "A deficiency of aspartoacylase (ASPA). ASPA activity was low."
    enzyme = "Mutations of galactosylceramidase (GALC) cause it; GALC is low."
    unpredicted = "Adenomatous polyposis coli (APC) gene. APC is mutated in cancer."
    for doc in (
        _predicted(lacks, "deficiency of aspartoacylase"),
        _predicted(enzyme, "galactosylceramidase"),
        _predicted(unpredicted, "cancer"),
    ):
        assert resolve_abbreviations(doc) == doc


def test_resolve_abbreviations_keeps_predictions_and_skips_ambiguous_short_forms():
    from bioie_kedro.token_classification import resolve_abbreviations

    # an occurrence overlapping a prediction is not added; the prediction is kept as it is
    text = "Wilms tumour (WT) recurs. Sporadic WT and WT1 differ. WT again."
    doc = _predicted(text, "Wilms tumour", "Sporadic WT")
    out = resolve_abbreviations(doc)
    assert [e.text for e in out.entities] == ["Wilms tumour", "WT", "Sporadic WT", "WT"]
    # defined for two types in one document: left alone
    text = "Cocaine hydrochloride (CH) and chronic hepatitis (CH). CH was seen."
    doc = Document(
        "2",
        "x",
        "test",
        text,
        entities=[
            Entity("P1", "Chemical", "Cocaine hydrochloride", [(0, 21)]),
            Entity("P2", "Disease", "chronic hepatitis", [(31, 48)]),
        ],
    )
    assert resolve_abbreviations(doc) == doc


@pytest.mark.parametrize("keep", ["last", "best"])
def test_keep_last_or_best_epoch(tmp_path, keep):
    import torch
    from safetensors.torch import load_file

    from bioie_kedro.token_classification import TrainingSettings, train_token_classifier

    settings = TrainingSettings(
        learning_rate=1e-3,
        per_device_train_batch_size=4,  # 2 documents of 2 sentences: one step per epoch
        num_train_epochs=3,
        warmup_ratio=0.0,
        keep=keep,
        logging_steps=1,
    )
    classifier = train_token_classifier(
        [demo_doc()] * 2, [demo_doc()], settings, output_dir=tmp_path / "out", resume=False
    )
    log = classifier.training_log
    assert log["kept"] == keep and len(log["dev_history"]) == log["global_steps"] == 3
    last = load_file(tmp_path / "out" / "checkpoint-3" / "model.safetensors")
    weight = "classifier.weight"
    same_as_last = torch.equal(classifier.model.state_dict()[weight].cpu(), last[weight])
    if keep == "last":
        assert same_as_last
    else:  # the best epoch's weights (the first of equal scores); the last only when it is best
        scores = [e["strict_f1"] for e in log["dev_history"]]
        assert log["best_dev_strict_f1"] == max(scores)
        assert same_as_last == (scores.index(max(scores)) == 2)


def test_keep_must_be_best_or_last(tmp_path):
    from bioie_kedro.token_classification import TrainingSettings, train_token_classifier

    with pytest.raises(ValueError, match="keep must be"):
        train_token_classifier(
            [demo_doc()], [demo_doc()], TrainingSettings(keep="final"), output_dir=tmp_path
        )


def test_bf16_training_returns_a_model_that_predicts_in_fp32(tmp_path):
    """Mixed-precision training on a CPU (autocast runs everywhere); accelerate's autocast wrapper
    is taken off, so the returned model's logits equal those of a plain fp32 forward."""
    import torch

    from bioie_kedro.token_classification import TrainingSettings, train_token_classifier

    settings = TrainingSettings(
        learning_rate=1e-3, per_device_train_batch_size=4, num_train_epochs=1, bf16=True
    )
    classifier = train_token_classifier(
        [demo_doc()] * 2, [demo_doc()], settings, output_dir=tmp_path / "out", resume=False
    )
    assert classifier.training_log["bf16"] is True
    model = classifier.model
    inputs = classifier.tokenizer(["Cisplatin caused acute renal failure."], return_tensors="pt")
    with torch.inference_mode():
        returned = model(**inputs).logits
        plain = type(model).forward(model, **inputs).logits  # the class's own forward, fp32
    assert returned.dtype == torch.float32
    assert torch.allclose(returned, plain, atol=1e-6)
