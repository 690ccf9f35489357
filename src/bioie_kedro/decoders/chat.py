"""Prompt rendering shared by training and serving: messages → chat text → token ids.

A prompt is a list of chat messages (``{"role": ..., "content": ...}``) ending with a user turn, as
:mod:`bioie_kedro.prompting` renders them. :func:`encode_prompt` applies the tokenizer's chat
template with the generation prompt and tokenizes the result *without* adding special tokens (the
template already holds them), and :func:`encode_completion` tokenizes an answer and closes it with
the end-of-turn token. Training sequences are ``encode_prompt(...) + encode_completion(...)`` and
generation starts from ``encode_prompt(...)``: the model sees the very same ids in both.

Tokenizers without a chat template (the project's own small models, base checkpoints) get
:data:`DEFAULT_CHAT_TEMPLATE`, saved with the model so that the saved model serves the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: Plain role-tagged turns; ``<|end|>`` closes each turn and is the end-of-turn (EOS) token.
DEFAULT_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor -%}"
    "{%- if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif -%}"
)
#: Special tokens of :data:`DEFAULT_CHAT_TEMPLATE` (the first is the EOS / end-of-turn token).
DEFAULT_CHAT_TOKENS = ("<|end|>", "<|system|>", "<|user|>", "<|assistant|>")

Messages = Sequence[Mapping[str, str]]


def ensure_chat_template(tokenizer: Any) -> None:
    """Give ``tokenizer`` :data:`DEFAULT_CHAT_TEMPLATE` (and its tokens) when it has no template.

    A tokenizer that already has a chat template (Gemma, Mistral-Instruct, …) keeps it.
    """
    if getattr(tokenizer, "chat_template", None):
        return
    missing = [token for token in DEFAULT_CHAT_TOKENS if token not in tokenizer.get_vocab()]
    if missing:
        tokenizer.add_special_tokens({"additional_special_tokens": missing})
    tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    tokenizer.eos_token = DEFAULT_CHAT_TOKENS[0]
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def render_prompt(tokenizer: Any, messages: Messages) -> str:
    """The chat text of a prompt, ending with the template's generation prompt."""
    _check_messages(messages)
    return tokenizer.apply_chat_template(
        [dict(message) for message in messages], tokenize=False, add_generation_prompt=True
    )


def encode_prompt(tokenizer: Any, messages: Messages) -> list[int]:
    """Token ids of :func:`render_prompt` (no special tokens added: the template has them)."""
    return tokenizer(render_prompt(tokenizer, messages), add_special_tokens=False)["input_ids"]


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that closes an assistant turn: Gemma's ``<end_of_turn>`` when present, else EOS."""
    template = tokenizer.chat_template or ""
    for token in ("<end_of_turn>", "<|eot_id|>", "<|im_end|>"):
        if token in template:
            # one lookup, not get_vocab(): that copies the whole vocabulary (14 ms for 30k
            # entries, once per training example)
            token_id = tokenizer.convert_tokens_to_ids(token)
            if token_id is not None and token_id != tokenizer.unk_token_id:
                return token_id
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no EOS token to close an answer with")
    return tokenizer.eos_token_id


def encode_completion(tokenizer: Any, answer: str) -> list[int]:
    """Token ids of an answer followed by the end-of-turn token (the model learns to stop)."""
    return tokenizer(answer, add_special_tokens=False)["input_ids"] + [end_of_turn_id(tokenizer)]


def _check_messages(messages: Messages) -> None:
    if not messages:
        raise ValueError("a prompt needs at least one message")
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or not {"role", "content"} <= set(message):
            raise ValueError(f"message {index} is not a {{'role', 'content'}} mapping: {message!r}")
    if messages[-1]["role"] != "user":
        raise ValueError(f"a prompt ends with a user turn, got {messages[-1]['role']!r}")
