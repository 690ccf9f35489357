"""The token that closes an assistant turn, looked up without copying the vocabulary."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer
from tokenizers.models import WordLevel
from tokenizers.pre_tokenizers import WhitespaceSplit
from transformers import PreTrainedTokenizerFast

from bioie_kedro.decoders.chat import encode_completion, end_of_turn_id

VOCAB = ["[UNK]", "</s>", "<end_of_turn>", "fever", "[", "]"]


def _tokenizer(template: str, vocab: list[str] = VOCAB) -> PreTrainedTokenizerFast:
    model = WordLevel({token: index for index, token in enumerate(vocab)}, unk_token="[UNK]")
    backend = Tokenizer(model)
    backend.pre_tokenizer = WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", eos_token="</s>"
    )
    tokenizer.chat_template = template
    return tokenizer


GEMMA_LIKE = "{% for m in messages %}{{ m['content'] }}<end_of_turn>{% endfor %}"


@pytest.mark.parametrize(
    ("template", "vocab", "expected"),
    [
        (GEMMA_LIKE, VOCAB, 2),  # in the template and the vocabulary: Gemma's turn end
        ("{{ messages[0]['content'] }}</s>", VOCAB, 1),  # not in the template: EOS
        (GEMMA_LIKE, [t for t in VOCAB if t != "<end_of_turn>"], 1),  # not a token: EOS
    ],
)
def test_end_of_turn_token(template, vocab, expected):
    tokenizer = _tokenizer(template, vocab)
    assert end_of_turn_id(tokenizer) == expected
    assert encode_completion(tokenizer, "[ fever ]")[-1] == expected
