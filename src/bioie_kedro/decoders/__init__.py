"""Causal-LM decoders: base models, chat prompts, supervised fine-tuning and batched generation.

The submodules import torch / transformers / TRL only when used:

* :mod:`bioie_kedro.decoders.chat` — the one function that turns prompt messages into the model's
  input (:func:`~bioie_kedro.decoders.chat.encode_prompt`); training and serving both call it, so
  their prompts are identical by construction.
* :mod:`bioie_kedro.decoders.build` — base models: any Hugging Face causal LM by path or hub name,
  a small Llama built from a config with a byte-level BPE tokenizer trained on the corpus, or a
  causal LM initialised from the bundled MiniLM.
* :mod:`bioie_kedro.decoders.sft` — supervised fine-tuning with TRL's ``SFTTrainer`` (loss on
  answers only, LoRA / QLoRA through peft, full fine-tuning for small models).
* :mod:`bioie_kedro.decoders.generation` — batched greedy (or sampled) decoding with left padding,
  a vLLM backend when vLLM and a GPU are present.
"""
