"""Decoders: chat prompts, base models, SFT (full / LoRA / QLoRA gate), generation, the dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from kedro.io.core import DatasetError  # noqa: E402

from bioie_kedro.datasets.models import CausalLMDataset  # noqa: E402
from bioie_kedro.decoders.build import (  # noqa: E402
    MINILM_DECODER,
    BaseModelSettings,
    CausalLM,
    LlamaShape,
    build_base_model,
    check_linear_lm_head,
    train_bpe_tokenizer,
)
from bioie_kedro.decoders.chat import encode_completion, encode_prompt, render_prompt  # noqa: E402
from bioie_kedro.decoders.generation import (  # noqa: E402
    GenerationSettings,
    MentionCopier,
    generate,
    generate_one_by_one,
    generate_samples,
    json_strings,
)
from bioie_kedro.decoders.sft import (  # noqa: E402
    SFTExample,
    SFTSettings,
    answer_positions_only,
    checkpointing_setting,
    tokenize_examples,
    train_sft,
)

DEMO = Path(__file__).resolve().parents[2] / "data" / "01_raw" / "demo" / "demo_train.PubTator.txt"
TINY = LlamaShape(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=1,
    vocab_size=800,
)


def _demo_texts() -> list[str]:
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    return [line.split("|", 2)[2] for line in lines if "|t|" in line or "|a|" in line]


def _examples() -> list[SFTExample]:
    # A task the tiny model learns in a few dozen steps: does the text name a side effect?
    texts = _demo_texts()[:24]
    return [
        SFTExample(
            [{"role": "user", "content": f"Induced? {t[:60]}"}],
            '["induced"]' if "induced" in t[:60] else "[]",
        )
        for t in texts
    ]


@pytest.fixture(scope="module")
def base() -> CausalLM:
    return build_base_model(BaseModelSettings(shape=TINY, seed=3), _demo_texts())


@pytest.fixture(scope="module")
def tuned(base: CausalLM, tmp_path_factory: pytest.TempPathFactory) -> CausalLM:
    # 60 steps: at 40 the model answered [""] for every "induced" text and passed on the [] ones
    settings = SFTSettings(
        max_steps=60,
        per_device_train_batch_size=8,
        learning_rate=5e-3,
        logging_steps=10,
        save_strategy="no",
    )
    return train_sft(base, _examples(), settings, output_dir=tmp_path_factory.mktemp("sft"))


def test_prompt_is_the_prefix_of_the_training_sequence(base: CausalLM) -> None:
    example = _examples()[0]
    row = tokenize_examples(base.tokenizer, [example], max_length=4096).rows[0]
    prompt = encode_prompt(base.tokenizer, example.messages)
    assert row["input_ids"][: len(prompt)] == prompt
    assert row["completion_mask"] == [0] * len(prompt) + [1] * (len(row["input_ids"]) - len(prompt))
    assert row["input_ids"][len(prompt) :] == encode_completion(base.tokenizer, example.answer)
    assert row["input_ids"][-1] == base.tokenizer.eos_token_id
    assert render_prompt(base.tokenizer, example.messages).endswith("<|assistant|>\n")


def test_prompt_must_end_with_a_user_turn(base: CausalLM) -> None:
    with pytest.raises(ValueError, match="user turn"):
        render_prompt(base.tokenizer, [{"role": "assistant", "content": "x"}])
    with pytest.raises(ValueError, match="mapping"):
        render_prompt(base.tokenizer, [{"content": "x"}])


def test_too_long_examples_are_dropped_and_counted(base: CausalLM) -> None:
    tokenized = tokenize_examples(base.tokenizer, _examples(), max_length=20)
    assert tokenized.dropped_too_long == len(_examples()) - len(tokenized.rows)
    assert tokenized.dropped_too_long > 0


@pytest.mark.parametrize("pretokenizer", ["words", "bytelevel"])
def test_byte_level_bpe_round_trips_any_text(pretokenizer: str) -> None:
    tokenizer = train_bpe_tokenizer(_demo_texts(), vocab_size=600, pretokenizer=pretokenizer)
    for text in ["Naïve β-blocker (5 mg/kg) → renal failure", *_demo_texts()[:20]]:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_words_pretokenizer_keeps_a_mention_s_tokens_in_the_answer() -> None:
    tokenizer = train_bpe_tokenizer(_demo_texts(), vocab_size=600, pretokenizer="words")
    in_text = tokenizer("caused renal failure.", add_special_tokens=False)["input_ids"]
    in_answer = tokenizer('["renal failure"]', add_special_tokens=False)["input_ids"]
    mention = tokenizer("renal failure", add_special_tokens=False)["input_ids"]
    assert _contains(in_text, mention) and _contains(in_answer, mention)
    gpt2 = train_bpe_tokenizer(_demo_texts(), vocab_size=600, pretokenizer="bytelevel")
    in_text = gpt2("caused renal failure.", add_special_tokens=False)["input_ids"]
    in_answer = gpt2('["renal failure"]', add_special_tokens=False)["input_ids"]
    spaced = gpt2(" renal failure", add_special_tokens=False)["input_ids"]  # as in the text
    assert _contains(in_text, spaced) and not _contains(in_answer, spaced)


def _contains(sequence: list[int], part: list[int]) -> bool:
    return any(sequence[i : i + len(part)] == part for i in range(len(sequence) - len(part) + 1))


def test_scratch_model_is_seeded() -> None:
    texts = _demo_texts()[:50]
    first = build_base_model(BaseModelSettings(shape=TINY, seed=1), texts)
    second = build_base_model(BaseModelSettings(shape=TINY, seed=1), texts)
    third = build_base_model(BaseModelSettings(shape=TINY, seed=2), texts)
    w1, w2, w3 = (m.model.model.embed_tokens.weight for m in (first, second, third))
    assert torch.equal(w1, w2)
    assert not torch.equal(w1, w3)


def test_full_fine_tuning_learns_the_task(tuned: CausalLM) -> None:
    history = [h["loss"] for h in tuned.training_log["sft"]["history"] if "loss" in h]
    assert history[-1] < history[0] / 2
    # final = the last logged loss; the trainer's training_loss is the mean over the run
    log = tuned.training_log["sft"]
    assert log["final_train_loss"] == round(history[-1], 4)
    assert history[-1] < log["mean_train_loss"] < history[0]
    examples = _examples()
    prompts = [render_prompt(tuned.tokenizer, e.messages) for e in examples]
    answers = generate(tuned.model, tuned.tokenizer, prompts, GenerationSettings(max_new_tokens=8))
    assert {e.answer for e in examples} == {"[]", '["induced"]'}
    # both answers are learned, not only the frequent one (19 of the 24 examples are [])
    for answer in ("[]", '["induced"]'):
        pairs = [
            (a, e.answer) for a, e in zip(answers, examples, strict=True) if e.answer == answer
        ]
        assert sum(a == gold for a, gold in pairs) >= 0.75 * len(pairs), (answer, pairs)


def test_batched_greedy_equals_one_by_one(tuned: CausalLM) -> None:
    prompts = [render_prompt(tuned.tokenizer, e.messages) for e in _examples()]
    prompts += [render_prompt(tuned.tokenizer, [{"role": "user", "content": "x"}])]  # short one
    batched = generate(
        tuned.model, tuned.tokenizer, prompts, GenerationSettings(max_new_tokens=12, batch_size=5)
    )
    single = generate_one_by_one(
        tuned.model, tuned.tokenizer, prompts, GenerationSettings(max_new_tokens=12)
    )
    assert batched == single


def test_generation_stops_at_the_bound_and_counts_it(base: CausalLM) -> None:
    prompts = [render_prompt(base.tokenizer, [{"role": "user", "content": "anything"}])] * 3
    answers, stats = generate_samples(
        base.model,
        base.tokenizer,
        prompts,
        GenerationSettings(max_new_tokens=4, do_sample=True, num_return_sequences=2, seed=1),
    )
    assert [len(a) for a in answers] == [2, 2, 2]
    assert stats.answers == 6
    assert stats.new_tokens <= 6 * 4
    assert (
        stats.hit_max_new_tokens
        == sum(
            len(base.tokenizer(a, add_special_tokens=False)["input_ids"]) >= 4
            for t in answers
            for a in t
        )
        or stats.hit_max_new_tokens > 0
    )
    with pytest.raises(ValueError, match="do_sample"):
        GenerationSettings(num_return_sequences=2)


def test_lora_is_merged_into_plain_weights(base: CausalLM, tmp_path: Path) -> None:
    settings = SFTSettings(
        max_steps=3,
        per_device_train_batch_size=4,
        adaptation="lora",
        save_strategy="no",
        logging_steps=1,
    )
    settings.lora.r = 4
    settings.learning_rate = 1e-2
    before = {name: p.detach().clone() for name, p in base.model.named_parameters()}
    tuned = train_sft(base, _examples()[:8], settings, output_dir=tmp_path)
    assert not tuned.adapter
    assert type(tuned.model).__name__ == "LlamaForCausalLM"
    after = dict(tuned.model.named_parameters())
    assert set(after) == set(before), "no LoRA parameters left after merging"
    assert any(not torch.equal(before[name], after[name]) for name in before)


def test_qlora_is_refused_without_cuda(base: CausalLM, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        train_sft(base, _examples()[:4], SFTSettings(adaptation="qlora"), output_dir=tmp_path)


def test_resume_from_the_trainer_checkpoint(base: CausalLM, tmp_path: Path) -> None:
    settings = SFTSettings(num_train_epochs=1, per_device_train_batch_size=8, save_strategy="epoch")
    train_sft(base, _examples(), settings, output_dir=tmp_path)
    assert list(tmp_path.glob("checkpoint-*"))
    settings.num_train_epochs = 2
    resumed = train_sft(base, _examples(), settings, output_dir=tmp_path, resume=True)
    log = resumed.training_log["sft"]
    assert log["resumed_from"] is not None
    assert log["global_steps"] == 6  # 24 examples / 8 per step, two epochs


def test_dataset_round_trip_generates_the_same(tuned: CausalLM, tmp_path: Path) -> None:
    dataset = CausalLMDataset(path=str(tmp_path / "model"))
    dataset.save(tuned)
    loaded = dataset.load()
    assert loaded.training_log["sft"]["global_steps"] == 60
    prompts = [render_prompt(tuned.tokenizer, e.messages) for e in _examples()[:6]]
    settings = GenerationSettings(max_new_tokens=8)
    assert generate(loaded.model, loaded.tokenizer, prompts, settings) == generate(
        tuned.model, tuned.tokenizer, prompts, settings
    )
    assert not list((tmp_path / "model").glob("*.bin")), "weights are safetensors, not pickles"
    (tmp_path / "model" / "bioie_decoder.json").unlink()
    with pytest.raises(DatasetError, match="bioie_decoder.json"):
        dataset.load()


@pytest.fixture(scope="module")
def minilm() -> CausalLM:
    return build_base_model(BaseModelSettings(model_name_or_path=MINILM_DECODER))


def test_minilm_decoder_is_causal_with_a_linear_head(minilm: CausalLM) -> None:
    model = minilm.model
    assert model.config.is_decoder
    assert isinstance(model.cls.predictions.transform, torch.nn.Identity)
    check_linear_lm_head(model)  # what TRL trains is what generates
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231]])
    with torch.no_grad():
        full = model(input_ids=ids).logits
        prefix = model(input_ids=ids[:, :3]).logits
    assert torch.allclose(full[:, :3], prefix, atol=1e-5), "a later token changed earlier logits"


def test_generation_stays_within_the_position_limit(minilm: CausalLM) -> None:
    """512 positions: the budget shrinks to the room left; a prompt that fills them is skipped."""
    word = minilm.tokenizer("fever", add_special_tokens=False)["input_ids"]
    near = word * 505  # 7 positions left
    full = word * 520
    answers, stats = generate_samples(
        minilm.model,
        minilm.tokenizer,
        [near, word * 10, full],
        GenerationSettings(max_new_tokens=64, batch_size=1),
    )
    assert stats.prompts_too_long == 1 and answers[2] == [""]
    assert stats.capped_by_context == 1
    near_tokens = minilm.tokenizer(answers[0][0], add_special_tokens=False)["input_ids"]
    assert len(near_tokens) <= 7
    assert stats.answers == 3


def test_a_head_transform_is_refused_before_training() -> None:
    from transformers import BertConfig, BertLMHeadModel

    config = BertConfig(
        vocab_size=64,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        is_decoder=True,
    )
    with pytest.raises(ValueError, match="more than its output embeddings"):
        check_linear_lm_head(BertLMHeadModel(config), what="a BERT decoder")


def test_the_head_check_accepts_a_model_left_in_bf16_autocast(minilm: CausalLM) -> None:
    """After bf16 training on a GPU, accelerate leaves ``forward`` wrapped in autocast: the model's
    logits are then bf16 products while the check's fused head runs in fp32. A linear head must
    still pass (it did not: the DFPO preference stage refused every model trained on CUDA)."""
    import copy
    from types import MethodType

    from accelerate.utils import convert_outputs_to_fp32

    model = copy.deepcopy(minilm.model)
    forward = torch.autocast("cpu", dtype=torch.bfloat16)(model.forward.__func__)
    model.forward = MethodType(convert_outputs_to_fp32(forward), model)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        autocast_logits = model(input_ids=ids).logits
        plain_logits = minilm.model(input_ids=ids).logits
    assert not torch.allclose(autocast_logits, plain_logits, atol=1e-3), "autocast had no effect"
    check_linear_lm_head(model)


def test_minilm_decoder_learns_an_answer_and_reloads(minilm: CausalLM, tmp_path: Path) -> None:
    # Regression: TRL trains the output embeddings on the backbone's hidden states; with BERT's
    # random head transform left in place, generation repeated unrelated tokens.
    texts = [f"Patient {i} had fever and cough after aspirin." for i in range(16)]
    examples = [SFTExample([{"role": "user", "content": t}], '["fever"]') for t in texts]
    settings = SFTSettings(
        adaptation="full",
        learning_rate=3e-4,
        max_steps=30,
        per_device_train_batch_size=8,
        logging_steps=10,
        save_strategy="no",
    )
    tuned = train_sft(minilm, examples, settings, output_dir=tmp_path / "sft")
    prompt = render_prompt(tuned.tokenizer, [{"role": "user", "content": "Patient 99 had fever."}])
    answer = generate(tuned.model, tuned.tokenizer, [prompt], GenerationSettings(max_new_tokens=6))
    assert answer[0].replace(" ", "").startswith('["fever"]'), answer
    tuned.save(tmp_path / "model")
    loaded = CausalLM.load(tmp_path / "model")
    assert isinstance(loaded.model.cls.predictions.transform, torch.nn.Identity)
    assert (
        generate(loaded.model, loaded.tokenizer, [prompt], GenerationSettings(max_new_tokens=6))
        == answer
    )


def test_checkpointing_is_stated_under_the_installed_field_name() -> None:
    import dataclasses
    import warnings

    from trl import SFTConfig

    @dataclasses.dataclass
    class OldConfig:  # transformers 5.1x: only the old name
        gradient_checkpointing: bool = True

    @dataclasses.dataclass
    class NewConfig(OldConfig):  # transformers 5.2x: the new name, the old one a mirror
        activation_checkpointing: bool | None = None

    assert checkpointing_setting(OldConfig, False) == {"gradient_checkpointing": False}
    assert checkpointing_setting(NewConfig, True) == {"activation_checkpointing": True}
    # TRL's own default is on; the installed config takes the switch without a deprecation warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        config = SFTConfig(
            output_dir="unused",
            use_cpu=True,
            bf16=False,
            report_to="none",
            **checkpointing_setting(SFTConfig, False),
        )
    assert config.gradient_checkpointing is False


def _fused_step(model, ids, labels, monkeypatch) -> tuple[float, dict, list[int]]:
    """Loss, gradients and the rows the fused head projected, for one fused forward/backward."""
    from trl.trainer import utils as trl_utils

    rows: list[int] = []
    function = trl_utils._ChunkedLogProbFunction

    class Counting:
        @staticmethod
        def apply(hidden, *args):
            rows.append(hidden.shape[0])
            return function.apply(hidden, *args)

    monkeypatch.setattr(trl_utils, "_ChunkedLogProbFunction", Counting)
    model.zero_grad()
    loss = model(input_ids=ids, labels=labels, fused_lm_head=True).loss
    loss.backward()
    grads = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    monkeypatch.undo()
    return loss.item(), grads, rows


def test_the_fused_head_scores_only_answer_positions_with_the_same_gradients(
    base: CausalLM, monkeypatch
) -> None:
    import copy

    from trl.trainer import utils as trl_utils

    model = copy.deepcopy(base.model).float().train()
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    torch.manual_seed(0)
    ids = torch.randint(5, 700, (3, 24))
    labels = ids.clone()
    labels[:, :18] = -100  # the prompt: no loss
    labels[1, 18:21] = -100  # a shorter answer
    labelled = int((labels[:, 1:] != -100).sum())

    every_loss, every_grads, every_rows = _fused_step(model, ids, labels, monkeypatch)
    with answer_positions_only() as active:
        assert active is True
        compact_loss, compact_grads, compact_rows = _fused_step(model, ids, labels, monkeypatch)

    assert every_rows == [3 * 23]  # TRL as installed, on a CPU: every shifted position
    assert compact_rows == [labelled] and labelled == 15
    assert compact_loss == pytest.approx(every_loss, rel=1e-6)
    assert every_grads.keys() == compact_grads.keys() and every_grads
    for name, grad in every_grads.items():
        torch.testing.assert_close(compact_grads[name], grad, rtol=1e-5, atol=1e-6, msg=name)


def test_the_answer_position_switch_is_restored_on_error() -> None:
    from trl.trainer import utils as trl_utils

    cpu = torch.device("cpu")
    before = trl_utils._use_triton
    assert before(cpu) is False  # TRL's own choice for a CPU
    with pytest.raises(RuntimeError, match="stop"), answer_positions_only():
        assert trl_utils._use_triton(cpu) is True
        raise RuntimeError("stop")
    assert trl_utils._use_triton is before


def test_json_strings_of_finished_and_unfinished_answers() -> None:
    assert json_strings('[ " a \\" b ", "c') == [(2, ' a " b ', True), (14, "c", False)]
    assert json_strings("[]") == []


def test_copying_steers_a_string_back_into_the_source(base: CausalLM) -> None:
    tokenizer = base.tokenizer
    source = "Induced hepatitis in mice"
    stops = [tokenizer.eos_token_id]
    opened = tokenizer('["', add_special_tokens=False)["input_ids"]
    vocab = len(tokenizer)
    special = set(tokenizer.all_special_ids)
    keys = {
        token: tokenizer.decode(opened + [token], skip_special_tokens=True)
        .split('"', 1)[1]
        .replace(" ", "")
        .lower()
        for token in range(vocab)
        if token not in special
    }
    target = "inducedhepatitisinmice"
    wrong = next(
        t for t, key in keys.items() if len(key) > 2 and '"' not in key and key not in target
    )
    right = next(t for t, key in keys.items() if len(key) > 2 and key in target)
    prompt = [5, 6, 7]
    scores = torch.zeros((2, vocab))
    scores[:, wrong], scores[:, right] = 10.0, 5.0
    ids = torch.tensor([prompt + opened, prompt + opened])
    copier = MentionCopier(tokenizer, [source, "nothing alike"], width=3, stops=stops, top_k=vocab)
    out = copier(ids, scores.clone())
    assert int(out[0].argmax()) == right  # the likelier token would leave the source
    assert copier.steered >= 1
    # outside a string (after the closing quote) nothing is constrained
    closed = tokenizer('["mice"', add_special_tokens=False)["input_ids"]
    free = MentionCopier(tokenizer, [source], width=3, stops=stops, top_k=vocab)
    untouched = free(torch.tensor([prompt + closed]), scores[:1].clone())
    assert torch.equal(untouched, scores[:1])


@pytest.fixture(scope="module")
def first_word_model(tmp_path_factory: pytest.TempPathFactory) -> CausalLM:
    """A tiny model that always answers a one-string list (the text's first word)."""
    import json

    model = build_base_model(BaseModelSettings(shape=TINY, seed=5), _demo_texts())
    texts = _demo_texts()[:24]
    examples = [
        SFTExample(
            [{"role": "user", "content": f"First word? {t[:40]}"}], json.dumps(t.split()[:1])
        )
        for t in texts
    ]
    settings = SFTSettings(
        max_steps=40, per_device_train_batch_size=8, learning_rate=5e-3, save_strategy="no"
    )
    return train_sft(model, examples, settings, output_dir=tmp_path_factory.mktemp("first"))


def test_copied_answers_keep_every_string_in_the_source(first_word_model: CausalLM) -> None:
    model, tokenizer = first_word_model.model, first_word_model.tokenizer
    texts = _demo_texts()[:24]
    prompts = [
        render_prompt(tokenizer, [{"role": "user", "content": f"First word? {t[:40]}"}])
        for t in texts
    ]
    # sources the answers cannot come from: copying must write only what is in them
    sources = ["zz zz"] * len(prompts)
    settings = GenerationSettings(max_new_tokens=12, copy_mentions=True, copy_top_k=len(tokenizer))
    answers, stats = generate_samples(model, tokenizer, prompts, settings, sources=sources)
    plain = generate(model, tokenizer, prompts, GenerationSettings(max_new_tokens=12))

    def copied(answer: str, source: str) -> bool:
        key = source.replace(" ", "").lower()
        return all(
            content.replace(" ", "").lower() in key and (content.strip() or not closed)
            for _, content, closed in json_strings(answer)
        )

    # unconstrained, the model writes strings, and they are not in these sources
    assert all(json_strings(a) for a in plain), plain
    assert not any(copied(a, s) for a, s in zip(plain, sources, strict=True)), plain
    assert stats.extra["copy_unconstrained_steps"] == 0
    assert all(copied(a, s) for (a,), s in zip(answers, sources, strict=True)), answers
    assert any(json_strings(a) for (a,) in answers)  # strings were written, and copied
    with pytest.raises(ValueError, match="one source text per prompt"):
        generate_samples(model, tokenizer, prompts, settings)
    with pytest.raises(ValueError, match="greedy"):
        GenerationSettings(copy_mentions=True, do_sample=True)
