"""Base causal LMs: a Hugging Face checkpoint, a small Llama built from a config, or a MiniLM decoder.

:class:`CausalLM` carries a model with its tokenizer and what is known about where it came from;
:class:`~bioie_kedro.datasets.CausalLMDataset` saves and loads it (``save_pretrained``, safetensors,
never pickled). :func:`build_base_model` makes the starting point of supervised fine-tuning from a
:class:`BaseModelSettings`:

* ``model_name_or_path`` = a local directory or hub name (Gemma-2, Mistral, …): loaded with
  ``AutoModelForCausalLM`` (``trust_remote_code`` off unless set);
* ``scratch:llama``: no decoder weights can be downloaded here, so a small Llama-architecture model
  is built from a ``LlamaConfig`` with a byte-level BPE tokenizer trained on the corpus texts;
* ``bundled:minilm-decoder``: the bundled pretrained all-MiniLM-L6-v2 turned into a causal LM
  (``BertLMHeadModel`` with ``is_decoder=True``; the encoder is pretrained, its WordPiece
  vocabulary is lower-cased). The LM head is the tied word embeddings alone: BERT's head transform
  (dense, GELU, LayerNorm) is not in the checkpoint and is replaced by the identity, because TRL's
  trainers score tokens with the output embeddings applied directly to the last hidden state (see
  :func:`check_linear_lm_head`). ``config.json`` records it (:data:`LINEAR_LM_HEAD`) and
  :meth:`CausalLM.load` restores it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bioie_kedro.decoders.chat import DEFAULT_CHAT_TOKENS, ensure_chat_template

logger = logging.getLogger(__name__)

SCRATCH_LLAMA = "scratch:llama"
MINILM_DECODER = "bundled:minilm-decoder"
#: File that marks a saved :class:`CausalLM` directory and holds its provenance and training log.
METADATA_FILE = "bioie_decoder.json"
PAD_TOKEN = "<|pad|>"
#: ``config.json`` flag of a BERT-family decoder whose LM-head transform is the identity
LINEAR_LM_HEAD = "bioie_linear_lm_head"


@dataclass
class LlamaShape:
    """Size of the ``scratch:llama`` model (``LlamaConfig`` names)."""

    hidden_size: int = 256
    intermediate_size: int = 688
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 2048
    vocab_size: int = 8000  # target size of the BPE vocabulary trained on the corpus
    tie_word_embeddings: bool = True
    #: "bytelevel": GPT-2's regex (" breast" and "breast" are different tokens); "words": words,
    #: single white-space characters and punctuation pre-tokenized apart, so a word keeps its
    #: tokens after a space, a quote or a bracket. Measured on NCBI-disease (docs/benchmarks.md),
    #: bytelevel trains the better model at equal steps, so it is the default.
    pretokenizer: str = "bytelevel"


@dataclass
class BaseModelSettings:
    """Where the base model comes from; see the module docstring for the special names."""

    model_name_or_path: str = SCRATCH_LLAMA
    shape: LlamaShape = field(default_factory=LlamaShape)
    seed: int = 42
    trust_remote_code: bool = False
    torch_dtype: str = "auto"  # for hub checkpoints: auto, float32, bfloat16, float16

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BaseModelSettings:
        data = dict(data)
        shape = LlamaShape(**data.pop("shape", {}) or {})
        return cls(shape=shape, **data)


@dataclass
class CausalLM:
    """A causal LM with its tokenizer (chat template set) and its provenance.

    ``source`` is the directory the model was loaded from or the hub name it was built from
    (QLoRA reloads the base from it in 4 bit; vLLM serves it); ``adapter`` is true when ``model``
    is a peft model whose adapter is saved instead of merged weights.
    """

    model: Any
    tokenizer: Any
    source: str | None = None
    base: str | None = None
    training_log: dict[str, Any] = field(default_factory=dict)
    adapter: bool = False

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)
        metadata = {
            "base": self.base,
            "adapter": self.adapter,
            "training_log": self.training_log,
        }
        (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str))

    @classmethod
    def load(cls, directory: Path, *, trust_remote_code: bool = False, **kwargs: Any) -> CausalLM:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        metadata = json.loads((directory / METADATA_FILE).read_text())
        tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=trust_remote_code)
        # a linear-head MiniLM decoder has no head-transform weights: their absence is expected
        quiet = _declares_linear_head(directory)
        with _transformers_errors_only(quiet):
            if metadata.get("adapter"):
                from peft import AutoPeftModelForCausalLM

                model = AutoPeftModelForCausalLM.from_pretrained(
                    directory, trust_remote_code=trust_remote_code, **kwargs
                )
            else:
                model = AutoModelForCausalLM.from_pretrained(
                    directory, trust_remote_code=trust_remote_code, **kwargs
                )
        restore_linear_lm_head(model)
        model.eval()
        return cls(
            model=model,
            tokenizer=tokenizer,
            source=str(directory),
            base=metadata.get("base"),
            training_log=metadata.get("training_log", {}),
            adapter=bool(metadata.get("adapter")),
        )

    def parameter_count(self) -> int:
        return sum(parameter.numel() for parameter in self.model.parameters())


def _declares_linear_head(directory: Path) -> bool:
    config = directory / "config.json"
    if not config.is_file():  # an adapter directory: the flag is in the base model's config
        return False
    return bool(json.loads(config.read_text()).get(LINEAR_LM_HEAD))


@contextmanager
def _transformers_errors_only(active: bool) -> Iterator[None]:
    if not active:
        yield
        return
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)


def restore_linear_lm_head(model: Any) -> Any:
    """Make the LM-head transform of a model whose config carries :data:`LINEAR_LM_HEAD` the
    identity again (``from_pretrained`` rebuilds BERT's transform with random weights)."""
    import torch

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    if getattr(inner.config, LINEAR_LM_HEAD, False):
        inner.cls.predictions.transform = torch.nn.Identity()
    return model


def check_linear_lm_head(model: Any, *, what: str = "the model") -> None:
    """Refuse a model whose logits are more than its output embeddings applied to the backbone's
    last hidden state.

    TRL 1.x's ``SFTTrainer`` and ``DPOTrainer`` compute the per-token log-probabilities with a fused
    head: ``get_output_embeddings()`` applied directly to the backbone output. For a model whose
    head has layers of its own (BERT's and RoBERTa's LM-head transform), training would then
    optimise a function other than the one that generates: the training accuracy rises while
    generation stays garbage. One forward pass on four tokens tells the two apart. Models whose
    logits are scaled or soft-capped (Gemma-2, Granite, …) are left to TRL, which applies both.
    """
    import torch

    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = inner.config.get_text_config()
    scaling = (
        "final_logit_softcapping",
        "logit_scale",
        "output_multiplier",
        "lm_head_multiplier",
        "logits_scaling",
    )
    if any(getattr(config, name, None) is not None for name in scaling):
        return
    head = inner.get_output_embeddings()
    if head is None:
        raise ValueError(f"{what} ({type(inner).__name__}) has no output embeddings to score with")
    device = head.weight.device
    vocab = head.weight.shape[0]
    ids = torch.tensor([[1, 2, 3, 4]], device=device) % vocab
    training = inner.training
    inner.eval()
    try:
        with torch.no_grad():
            logits = inner(input_ids=ids, use_cache=False).logits.float()
            hidden = inner.base_model(input_ids=ids, use_cache=False).last_hidden_state
            fused = head(hidden.to(head.weight.dtype)).float()
    finally:
        inner.train(training)
    # The tolerance is loose on purpose: after bf16 training on a GPU, accelerate leaves the model's
    # forward wrapped in autocast, so ``logits`` are bf16 products and ``fused`` fp32 ones (relative
    # differences of about 1e-2). An untrained head transform is off by the logits' own scale.
    scale = logits.abs().max().clamp(min=1.0)
    if not torch.allclose(logits, fused, atol=5e-2 * float(scale), rtol=5e-2):
        raise ValueError(
            f"{what} ({type(inner).__name__}) computes its logits with more than its output "
            "embeddings (an LM-head transform); TRL's trainers would train the output embeddings "
            "on the raw hidden states and the model would generate from a head that was never "
            "trained. Use a model whose LM head is one linear layer (Llama, Mistral, Gemma, GPT-2, "
            "the project's bundled:minilm-decoder)."
        )


def train_bpe_tokenizer(
    texts: Iterable[str], *, vocab_size: int = 8000, pretokenizer: str = "bytelevel"
) -> Any:
    """A byte-level BPE tokenizer trained on ``texts`` (no unknown tokens: any byte is coded).

    ``pretokenizer`` is ``"bytelevel"`` (GPT-2's) or ``"words"`` (words, each white-space
    character and each punctuation mark apart: a mention copied into a JSON answer keeps the tokens
    it has in the text). Special tokens: ``<|pad|>`` and the chat tokens of
    :data:`DEFAULT_CHAT_TOKENS` (``<|end|>`` is EOS). Deterministic for the same texts.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD_TOKEN, *DEFAULT_CHAT_TOKENS]
    tokenizer = Tokenizer(models.BPE())
    if pretokenizer == "words":
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(r"\s|[^\w\s]"), behavior="isolated"),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    elif pretokenizer == "bytelevel":
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        raise ValueError(f"pretokenizer must be 'words' or 'bytelevel', got {pretokenizer!r}")
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD_TOKEN,
        eos_token=DEFAULT_CHAT_TOKENS[0],
        additional_special_tokens=list(DEFAULT_CHAT_TOKENS[1:]),
    )
    wrapped.padding_side = "left"
    ensure_chat_template(wrapped)
    return wrapped


def build_scratch_llama(tokenizer: Any, shape: LlamaShape, *, seed: int) -> Any:
    """A randomly initialised ``LlamaForCausalLM`` of ``shape`` for ``tokenizer`` (seeded)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_hidden_layers,
        num_attention_heads=shape.num_attention_heads,
        num_key_value_heads=shape.num_key_value_heads,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=shape.tie_word_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def build_minilm_decoder(*, seed: int) -> tuple[Any, Any]:
    """The bundled MiniLM as a causal LM (pretrained encoder layers, causal mask, new LM head)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertLMHeadModel

    from bioie_kedro.token_classification import BUNDLED_MINILM, resolve_model_name

    path = resolve_model_name(BUNDLED_MINILM)
    tokenizer = AutoTokenizer.from_pretrained(path)
    ensure_chat_template(tokenizer)
    tokenizer.padding_side = "left"
    config = BertConfig.from_pretrained(path, is_decoder=True)
    setattr(config, LINEAR_LM_HEAD, True)  # saved in config.json
    torch.manual_seed(seed)
    # an encoder checkpoint: no LM head (its bias starts at zero, the transform is the identity)
    # and a pooler the decoder does not use; transformers' report of both is expected noise
    with _transformers_errors_only(True):
        model = BertLMHeadModel.from_pretrained(path, config=config)
    restore_linear_lm_head(model)  # the checkpoint has no head transform to keep
    model.resize_token_embeddings(len(tokenizer))
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model, tokenizer


def load_pretrained(settings: BaseModelSettings) -> CausalLM:
    """A hub checkpoint or local directory, with a chat template when it has none."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    name = settings.model_name_or_path
    tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=settings.trust_remote_code)
    ensure_chat_template(tokenizer)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    local = Path(name)
    with _transformers_errors_only(local.is_dir() and _declares_linear_head(local)):
        model = AutoModelForCausalLM.from_pretrained(
            name, trust_remote_code=settings.trust_remote_code, dtype=settings.torch_dtype
        )
    restore_linear_lm_head(model)
    if len(tokenizer) > model.get_input_embeddings().num_embeddings:
        model.resize_token_embeddings(len(tokenizer))
    return CausalLM(model=model, tokenizer=tokenizer, source=name, base=name)


def build_base_model(settings: BaseModelSettings, tokenizer_texts: Sequence[str] = ()) -> CausalLM:
    """The base model named by ``settings`` (see the module docstring).

    Args:
        settings: where the model comes from and, for ``scratch:llama``, its shape.
        tokenizer_texts: texts the ``scratch:llama`` BPE tokenizer is trained on (corpus texts and
            rendered instructions, so that prompts and answers tokenize compactly).
    """
    name = settings.model_name_or_path
    if name == SCRATCH_LLAMA:
        if not tokenizer_texts:
            raise ValueError(f"{SCRATCH_LLAMA} needs texts to train its tokenizer on")
        tokenizer = train_bpe_tokenizer(
            tokenizer_texts,
            vocab_size=settings.shape.vocab_size,
            pretokenizer=settings.shape.pretokenizer,
        )
        model = build_scratch_llama(tokenizer, settings.shape, seed=settings.seed)
        built = CausalLM(model=model, tokenizer=tokenizer, base=SCRATCH_LLAMA)
        built.training_log["shape"] = asdict(settings.shape)
    elif name == MINILM_DECODER:
        model, tokenizer = build_minilm_decoder(seed=settings.seed)
        built = CausalLM(model=model, tokenizer=tokenizer, base=MINILM_DECODER)
    else:
        built = load_pretrained(settings)
    logger.info(
        "Base decoder %s: %.1fM parameters, vocabulary %d",
        name,
        built.parameter_count() / 1e6,
        len(built.tokenizer),
    )
    return built
