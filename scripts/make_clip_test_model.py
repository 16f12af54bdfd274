#!/usr/bin/env python3
"""Generates tests/models/clip-test/: a CLIP-shaped two-tower model with random weights.

It has the signatures, preprocessing and tokenizer of an OpenAI/open_clip CLIP export, so the
manifest-driven path a real CLIP ONNX takes (separate image and text sessions, CLIP mean/std,
byte-level BPE with <|startoftext|>/<|endoftext|>, fixed 77-token inputs padded with the
end-of-text id) is tested without a real CLIP, whose weights no package ships. The vectors
mean nothing; everything is deterministic (fixed seed, fixed training text).

  image.onnx      pixel_values f32 [batch, 3, 224, 224] -> image_embeds f32 [batch, 64]
                  (8x8 average pooling grid, flatten, matmul, tanh, matmul)
  text.onnx       input_ids, attention_mask i64 [batch, 77] -> text_embeds f32 [batch, 64]
                  (embedding lookup, attention-masked mean, matmul)
  tokenizer.json  byte-level BPE in CLIP's layout (256 byte tokens, the same with </w>, 200
                  byte-pair merges learnt from TEXT below, <|startoftext|>, <|endoftext|>), lower-cased;
                  the post-processor puts <|startoftext|> ... <|endoftext|> around a text
  manifest.json   CLIP preprocessing, one endpoint `clip-test`

Needs the PyPI packages onnx, numpy and tokenizers (bench/requirements-embed.txt):

    .cache/models-venv/bin/python scripts/make_clip_test_model.py [--check]

--check also loads both sessions with onnxruntime and runs them on tests/images/*.jpg.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "models", "clip-test")
SEED = 20240611
DIMS = 64
SEQ = 77
IMAGE = 224
GRID = 8  # image tower pools to GRID x GRID per channel
HIDDEN = 128
MERGES = 200  # vocabulary: 512 byte tokens + MERGES + 2 special tokens
SOT, EOT = "<|startoftext|>", "<|endoftext|>"

TEXT = """
A photo of a cat sleeping on a sofa. A photo of a dog running on the beach. A cup of coffee on a
wooden table, with a spoon and a saucer. A rocket launch at night, smoke and fire rising into the
sky. A motorcycle parked in front of a garage. An astronaut floating above the earth in a white
space suit. A temple on a hill, surrounded by trees and red lanterns. A flower in a garden, a
yellow daisy with white petals. A bowl of fruit: apples, oranges and bananas. A train crossing
a bridge over a river. A city street at dusk, cars and buses waiting at the traffic lights. A
mountain covered in snow under a blue sky. A boat on a calm lake in the morning. Two children
playing football in a park. A bird sitting on a branch, singing. A horse eating grass in a
field. A plate of pasta with tomato sauce and basil. A laptop and a notebook on a desk next to a
window. A bicycle leaning against a brick wall. A lighthouse on the coast during a storm. A
painting of a woman holding an umbrella in the rain. A black and white picture of an old
building. A close-up of a face, smiling. A group of people dancing at a wedding. A small house
in the forest with smoke coming from the chimney. An airplane taking off from the runway. A
sandwich cut in half, with cheese, ham and lettuce. A glass of water and a glass of red wine. A
sunset over the ocean, orange and purple clouds. A kitten playing with a ball of wool. A puppy
sleeping in a basket. Handwritten digits on a sheet of paper: zero, one, two, three, four, five,
six, seven, eight, nine. A photograph of the moon and the stars. A diagram of a machine with
wheels and gears. A map of the world with the oceans in blue. A chair, a lamp and a bookshelf in
a quiet room. A market with vegetables, fish and bread. A fountain in the middle of a square. A
snowman with a carrot nose and a red scarf. A tiger walking through tall grass. An elephant
drinking at a river. A bridge in the fog. A stadium full of people at a concert. A cake with
candles for a birthday. A pair of shoes by the door. A clock on the wall showing ten past
three. A street sign, a stop sign, a bus stop. The quick brown fox jumps over the lazy dog.
"""


def tensor(name, array):
    return numpy_helper.from_array(np.ascontiguousarray(array), name=name)


def image_model(rng):
    k = IMAGE // GRID
    w1 = (rng.standard_normal((3 * GRID * GRID, HIDDEN)) / np.sqrt(3 * GRID * GRID)).astype(np.float32)
    b1 = (0.01 * rng.standard_normal(HIDDEN)).astype(np.float32)
    w2 = (rng.standard_normal((HIDDEN, DIMS)) / np.sqrt(HIDDEN)).astype(np.float32)
    b2 = (0.01 * rng.standard_normal(DIMS)).astype(np.float32)
    nodes = [
        helper.make_node("AveragePool", ["pixel_values"], ["pooled"], kernel_shape=[k, k], strides=[k, k]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Tanh", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"]),
        helper.make_node("Add", ["o0", "b2"], ["image_embeds"]),
    ]
    graph = helper.make_graph(
        nodes, "clip_test_image",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, IMAGE, IMAGE])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", DIMS])],
        [tensor("w1", w1), tensor("b1", b1), tensor("w2", w2), tensor("b2", b2)])
    return finish(graph, "CLIP-shaped test image tower (random weights)")


def text_model(rng, vocab_size):
    emb = (rng.standard_normal((vocab_size, DIMS)) / np.sqrt(DIMS)).astype(np.float32)
    proj = (rng.standard_normal((DIMS, DIMS)) / np.sqrt(DIMS)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["token_embedding", "input_ids"], ["tok"], axis=0),  # [B,77,D]
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),  # [B,77]
        helper.make_node("Unsqueeze", ["maskf", "axis_last"], ["mask3"]),               # [B,77,1]
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis_seq"], ["summed"], keepdims=0),  # [B,D]
        helper.make_node("ReduceSum", ["maskf", "axis_seq"], ["count"], keepdims=1),    # [B,1]
        helper.make_node("Max", ["count", "one"], ["count1"]),
        helper.make_node("Div", ["summed", "count1"], ["mean"]),
        helper.make_node("MatMul", ["mean", "text_projection"], ["text_embeds"]),
    ]
    graph = helper.make_graph(
        nodes, "clip_test_text",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", SEQ]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", SEQ])],
        [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", DIMS])],
        [tensor("token_embedding", emb), tensor("text_projection", proj),
         tensor("axis_last", np.array([-1], dtype=np.int64)),
         tensor("axis_seq", np.array([1], dtype=np.int64)),
         tensor("one", np.array(1.0, dtype=np.float32))])
    return finish(graph, "CLIP-shaped test text tower (random weights)")


def finish(graph, doc):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="iris scripts/make_clip_test_model.py",
                              doc_string=doc)
    model.ir_version = 8  # loads in every ONNX Runtime since 1.10
    onnx.checker.check_model(model, full_check=True)
    return model


CLIP_SPLIT = (r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]"
              r"|[^\s\p{L}\p{N}]+")


def bytes_to_unicode():
    """GPT-2/CLIP's byte -> printable character table, in CLIP's vocabulary order."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def configure(tok):
    """CLIP's tokenizer.json pipeline: NFC, collapse whitespace, lower-case; split into words,
    numbers and punctuation runs (whitespace removed); byte-level characters; BPE with </w>."""
    tok.normalizer = normalizers.Sequence([
        normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    return tok


def learn_merges(tok, text, n_merges):
    """Byte-pair merges learnt on `text`, as tokenizers' BpeTrainer does (words from the
    tokenizer's own normaliser and pre-tokeniser, </w> on each word's last symbol, most
    frequent pair first), but with ties broken by the pair itself: the trainer breaks them in
    hash order, so its merges (and the ids) change from run to run."""
    from collections import Counter

    words = Counter()
    for line in text.split("\n"):
        for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(line)):
            words[w] += 1
    split = {w: list(w[:-1]) + [w[-1] + "</w>"] for w in words}
    merges = []
    while len(merges) < n_merges:
        pairs = Counter()
        for w, n in words.items():
            s = split[w]
            for a, b in zip(s, s[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        for w in words:
            s, out, i = split[w], [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(s[i] + s[i + 1])
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            split[w] = out
    return merges


def tokenizer():
    # 1. Learn MERGES merges on TEXT, through the tokenizer's own normaliser and pre-tokeniser.
    merges = learn_merges(configure(Tokenizer(models.BPE())), TEXT, MERGES)
    # 2. CLIP's vocabulary layout: the 256 byte characters, the same with </w>, one token per
    #    merge in merge order, then <|startoftext|> and <|endoftext|> (the highest id), so
    #    every input is covered (no unknown token) and ids do not depend on hash order.
    chars = bytes_to_unicode()
    tokens = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges]
    assert len(set(tokens)) == len(tokens)
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = configure(Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>")))
    tok.add_special_tokens([SOT, EOT])
    sot, eot = tok.token_to_id(SOT), tok.token_to_id(EOT)
    assert (sot, eot) == (len(tokens), len(tokens) + 1), (sot, eot, len(tokens))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}", pair=f"{SOT} $A {EOT} $B {EOT}",
        special_tokens=[(SOT, sot), (EOT, eot)])
    return tok


def dumps(obj, level=0):
    """JSON in the layout of models/README.md: short objects and lists on one line."""
    flat = json.dumps(obj, ensure_ascii=False)
    if not isinstance(obj, (dict, list)) or (level >= 2 and len(flat) <= 130) or (
            isinstance(obj, list) and all(not isinstance(v, (dict, list)) for v in obj)):
        return flat
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(obj, dict):
        items = [f"{inner}{json.dumps(k)}: {dumps(v, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return "[\n" + ",\n".join(inner + dumps(v, level + 1) for v in obj) + "\n" + pad + "]"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def manifest(eot_id):
    files = {
        "image_model": {"path": "image.onnx", "sha256": sha256(os.path.join(OUT, "image.onnx")), "fetch": "committed"},
        "text_model": {"path": "text.onnx", "sha256": sha256(os.path.join(OUT, "text.onnx")), "fetch": "committed"},
        "tokenizer": {"path": "tokenizer.json", "sha256": sha256(os.path.join(OUT, "tokenizer.json")), "fetch": "committed"},
    }
    return {
        "name": "clip-test",
        "description": "CLIP-shaped two-tower test fixture with random weights (scripts/make_clip_test_model.py)",
        "license": "Apache-2.0",
        "files": files,
        "towers": {
            "image": {
                "kind": "image",
                "file": "image_model",
                "input": "pixel_values",
                "preprocess": {
                    "resize_shortest": IMAGE,
                    "filter": "catmull_rom",
                    "crop": [IMAGE, IMAGE],
                    "scale": 1.0 / 255.0,
                    "mean": [0.48145466, 0.4578275, 0.40821073],
                    "std": [0.26862954, 0.26130258, 0.27577711],
                    "layout": "nchw",
                },
            },
            "text": {
                "kind": "text",
                "file": "text_model",
                "tokenizer": "tokenizer",
                "max_tokens": SEQ,
                "pad_to": SEQ,
                "pad_id": eot_id,
                "inputs": {"ids": "input_ids", "mask": "attention_mask"},
            },
        },
        "endpoints": [
            {
                "id": "clip-test",
                "description": "image and text → 64-d shared space (test fixture, random weights)",
                "dims": DIMS,
                "normalized": True,
                "image": {"tower": "image", "output": "image_embeds", "pooling": "none", "normalize": True},
                "text": {"tower": "text", "output": "text_embeds", "pooling": "none", "normalize": True},
            }
        ],
    }


def check(eot_id):
    import glob

    import onnxruntime as ort
    from PIL import Image

    tok = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    tok.enable_truncation(max_length=SEQ)
    tok.enable_padding(pad_id=eot_id, pad_token=EOT, length=SEQ)
    texts = ["a cat", "A Photo of an Astronaut!", "café au lait", " ".join(["long"] * 200)]
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    for t, e in zip(texts, enc):
        n = sum(e.attention_mask)
        assert e.ids[0] == eot_id - 1 and e.ids[n - 1] == eot_id, (t, e.ids[:n])
        print(f"tokens {t[:30]!r}: {n} {e.tokens[:8]}")
    assert sum(enc[-1].attention_mask) == SEQ and enc[-1].ids[-1] == eot_id

    text = ort.InferenceSession(os.path.join(OUT, "text.onnx"), providers=["CPUExecutionProvider"])
    image = ort.InferenceSession(os.path.join(OUT, "image.onnx"), providers=["CPUExecutionProvider"])
    for name, s in (("text.onnx", text), ("image.onnx", image)):
        print(name, "inputs", [(i.name, i.type, i.shape) for i in s.get_inputs()],
              "outputs", [(o.name, o.type, o.shape) for o in s.get_outputs()])
    (t,) = text.run(["text_embeds"], {"input_ids": ids, "attention_mask": mask})
    assert t.shape == (len(texts), DIMS) and np.isfinite(t).all(), t.shape

    m = manifest(eot_id)["towers"]["image"]["preprocess"]
    photos = sorted(glob.glob(os.path.join(ROOT, "tests", "images", "*.jpg")))
    xs = []
    for p in photos or [None]:
        img = Image.open(p).convert("RGB") if p else Image.new("RGB", (300, 250), (120, 60, 30))
        w, h = img.size
        s = IMAGE / min(w, h)
        img = img.resize((max(IMAGE, round(w * s)), max(IMAGE, round(h * s))), Image.BICUBIC)
        left, top = (img.size[0] - IMAGE) // 2, (img.size[1] - IMAGE) // 2
        img = img.crop((left, top, left + IMAGE, top + IMAGE))
        x = (np.asarray(img, dtype=np.float32) * m["scale"] - m["mean"]) / m["std"]
        xs.append(x.transpose(2, 0, 1).astype(np.float32))
    (v,) = image.run(["image_embeds"], {"pixel_values": np.stack(xs)})
    assert v.shape == (len(xs), DIMS) and np.isfinite(v).all(), v.shape
    print(f"text_embeds {t.shape}, image_embeds {v.shape} ({len(photos)} photos): ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="run both sessions with onnxruntime")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(SEED)

    tok = tokenizer()
    tok.save(os.path.join(OUT, "tokenizer.json"), pretty=False)
    eot_id = tok.token_to_id(EOT)
    onnx.save(image_model(rng), os.path.join(OUT, "image.onnx"))
    onnx.save(text_model(rng, tok.get_vocab_size()), os.path.join(OUT, "text.onnx"))
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(dumps(manifest(eot_id)) + "\n")
    total = 0
    for name in sorted(os.listdir(OUT)):
        size = os.path.getsize(os.path.join(OUT, name))
        total += size
        print(f"{name}: {size} bytes")
    print(f"total {total} bytes; vocab {tok.get_vocab_size()}, <|endoftext|> = {eot_id}")
    if args.check:
        check(eot_id)


if __name__ == "__main__":
    sys.exit(main())
