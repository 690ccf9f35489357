"""Mine preference pairs from a decoder checkpoint on NCBI-disease training prompts (for the DPOP plot).

Uses the dfpo pipeline's own node ``mine_preference_pairs`` on the listing/sentence instructions of
``benchmarks/decoder_sft.py``; saves the model as a CausalLM directory and the pairs as JSON:

    python benchmarks/mine_preference_pairs.py <trainer checkpoint dir> <output dir>
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decoder_sft import CORPORA, defaults, merge
from transformers import AutoModelForCausalLM, AutoTokenizer

from bioie_kedro.corpora.pubtator import read_pubtator
from bioie_kedro.decoders.build import CausalLM
from bioie_kedro.pipelines.decoder_sft.nodes import build_instructions
from bioie_kedro.pipelines.dfpo.nodes import mine_preference_pairs
from bioie_kedro.segmentation import segment_document

ckpt, out = Path(sys.argv[1]), Path(sys.argv[2])
files, type_map = CORPORA["ncbi_disease"]
corpora = Path(__file__).resolve().parents[1].parent / "shared" / "data"
documents = {
    "ncbi_disease/train": [
        segment_document(d)
        for d in read_pubtator(
            corpora / files["train"], source="ncbi_disease", split="train"
        ).documents
    ]
}
params = merge(defaults("ncbi_disease", out, type_map), {"instructions": {"eval": []}})
train, _, _ = build_instructions(documents, {}, params)
lm = CausalLM(
    model=AutoModelForCausalLM.from_pretrained(ckpt),
    tokenizer=AutoTokenizer.from_pretrained(ckpt),
    base="scratch:llama",
)
lm.model.eval()
pairs, report = mine_preference_pairs(
    lm,
    train,
    {
        "mining": {
            "samples": 2,
            "max_new_tokens": 48,
            "batch_size": 64,
            "max_prompts": 1500,
            "seed": 42,
        }
    },
    params,
)
out.mkdir(parents=True, exist_ok=True)
lm.save(out / "model")
(out / "pairs.json").write_text(json.dumps(pairs))
print(
    json.dumps(
        {
            k: report[k]
            for k in ("candidates", "answers", "correct_answers", "unparsable_answers", "pairs")
        }
    ),
    report["primary_kinds"]["kept"],
)
