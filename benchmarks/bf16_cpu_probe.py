"""Time one training step of the relation student (entity-start head, bundled MiniLM) in fp32
and under bf16 autocast on this machine's CPU: random batches of 16 x 100 tokens, forward,
backward and AdamW step, 8 timed steps after one warm-up, two alternating rounds; prints the
median seconds per step of each arm and whether the CPU reports AVX512-BF16 / AMX:

    OMP_NUM_THREADS=2 python benchmarks/bf16_cpu_probe.py
"""

import statistics
import time

import torch
from transformers import AutoModel, AutoTokenizer

from bioie_kedro.relation_extraction.classifier import (
    MARKERS,
    add_marker_tokens,
    entity_start_classifier,
)
from bioie_kedro.token_classification import resolve_model_name

torch.manual_seed(0)
name = resolve_model_name("bundled:all-MiniLM-L6-v2")
tok = AutoTokenizer.from_pretrained(name)
add_marker_tokens(tok)
enc = AutoModel.from_pretrained(name, num_labels=6)
enc.resize_token_embeddings(len(tok))
ids = tok.convert_tokens_to_ids([MARKERS[0], MARKERS[2]])
model = entity_start_classifier(enc, ids)
opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
L = 100
B = 16
x = torch.randint(1000, 20000, (B, L))
x[:, 5] = ids[0]
x[:, 40] = ids[1]
mask = torch.ones_like(x)
y = torch.randint(0, 6, (B,))


def step(bf16):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(input_ids=x, attention_mask=mask)
        logits = out["logits"] if isinstance(out, dict) else out[0]
    loss = torch.nn.functional.cross_entropy(logits.float(), y)
    loss.backward()
    opt.step()
    opt.zero_grad()


for r in range(2):
    for bf16 in (False, True):
        step(bf16)
        ts = []
        for _ in range(8):
            t = time.perf_counter()
            step(bf16)
            ts.append(time.perf_counter() - t)
        print(r, "bf16" if bf16 else "fp32", round(statistics.median(ts), 3), flush=True)
print(
    "avx512_bf16", torch.cpu._is_avx512_bf16_supported(), "amx", torch.cpu._is_amx_tile_supported()
)
