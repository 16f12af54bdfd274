#!/usr/bin/env python3
"""Reference embedder: Python onnxruntime + PIL, exactly the preprocessing of models/README.md.

Used to produce expected vectors for the Rust embedder's parity tests, retrieval-quality
figures on the sprite sets in tests/images/, and a throughput baseline.

    python3 -m venv .cache/models-venv
    .cache/models-venv/bin/pip install -r bench/requirements-embed.txt
    bash scripts/fetch_models.sh
    PY=.cache/models-venv/bin/python

    $PY bench/embed_reference.py vectors --images tests/images \\
        --texts "a cat" "a cup of coffee" --out /tmp/reference.json
    $PY bench/embed_reference.py precision --set digits      # or lfw
    $PY bench/embed_reference.py bench --images tests/images --batch 1,8,32 --threads 2

Image path (manifest `towers.image.preprocess`): decode, convert("RGB"), resize so the shortest
side is `resize_shortest` (the other side rounded; `catmull_rom` = PIL BICUBIC), centre-crop
`crop` (offsets floor((size - crop) / 2)), x * scale, (x - mean[c]) / std[c], CHW.
Text path (manifest `towers.text`): tokenizer.json truncated to `max_tokens` (padding to the
longest in the batch with pad id 0, or to `pad_to` with `pad_id`), ids / mask / zero type ids,
then the endpoint's pooling (`mean`: attention-masked mean) and L2 normalisation.
"""

import argparse
import glob
import io
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_IMAGE_MODEL = os.path.join(ROOT, "models", "efficientnet-lite0")
DEFAULT_TEXT_MODEL = os.path.join(ROOT, "models", "minilm-l6-v2")
FILTERS = {
    "catmull_rom": Image.BICUBIC,
    "triangle": Image.BILINEAR,
    "lanczos3": Image.LANCZOS,
    "nearest": Image.NEAREST,
}
PHOTO_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")
DEFAULT_TEXTS = ["a cat", "an astronaut", "a cup of coffee", "a rocket launch", "a motorcycle",
                 "a temple", "a flower"]


class Model:
    """One model folder: its manifest, lazily created sessions."""

    def __init__(self, folder, threads=2):
        self.folder = folder
        with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)
        self.threads = threads
        self._sessions = {}
        self._tokenizers = {}

    def file(self, name):
        return os.path.normpath(os.path.join(self.folder, self.manifest["files"][name]["path"]))

    def tower(self, kind):
        for name, t in self.manifest["towers"].items():
            if t["kind"] == kind:
                return name, t
        raise SystemExit(f"{self.folder}: no {kind} tower")

    def session(self, tower_name):
        if tower_name not in self._sessions:
            path = self.file(self.manifest["towers"][tower_name]["file"])
            if not os.path.isfile(path):
                raise SystemExit(f"{path} is missing: run bash scripts/fetch_models.sh")
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            self._sessions[tower_name] = ort.InferenceSession(
                path, sess_options=opts, providers=["CPUExecutionProvider"])
        return self._sessions[tower_name]

    # ---- image tower -------------------------------------------------------------------
    def preprocess(self, img):
        """PIL image (any mode) -> f32 [3, H, W] (or [H, W, 3] for nhwc)."""
        _, tower = self.tower("image")
        p = tower["preprocess"]
        img = img.convert("RGB")
        w, h = img.size
        short = p["resize_shortest"]
        if w <= h:
            size = (short, max(1, round(h * short / w)))
        else:
            size = (max(1, round(w * short / h)), short)
        if size != (w, h):
            img = img.resize(size, FILTERS[p.get("filter", "catmull_rom")])
        cw, ch = p["crop"]
        w, h = img.size
        left, top = (w - cw) // 2, (h - ch) // 2
        img = img.crop((left, top, left + cw, top + ch))
        x = np.asarray(img, dtype=np.float32) * np.float32(p["scale"])
        x = (x - np.asarray(p["mean"], dtype=np.float32)) / np.asarray(p["std"], dtype=np.float32)
        if p.get("layout", "nchw") == "nchw":
            x = x.transpose(2, 0, 1)
        return np.ascontiguousarray(x, dtype=np.float32)

    def run_image(self, batch, outputs):
        name, tower = self.tower("image")
        return dict(zip(outputs, self.session(name).run(outputs, {tower["input"]: batch})))

    # ---- text tower --------------------------------------------------------------------
    def tokenizer(self, tower):
        key = tower["tokenizer"]
        if key not in self._tokenizers:
            tok = Tokenizer.from_file(self.file(key))
            tok.enable_truncation(max_length=tower["max_tokens"])
            if tower.get("pad_to"):
                tok.enable_padding(pad_id=tower.get("pad_id", 0), length=tower["pad_to"])
            else:
                tok.enable_padding(pad_id=tower.get("pad_id", 0))
            self._tokenizers[key] = tok
        return self._tokenizers[key]

    def embed_texts(self, texts, route):
        tower = self.manifest["towers"][route["tower"]]
        enc = self.tokenizer(tower).encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        names = tower["inputs"]
        feeds = {names["ids"]: ids, names["mask"]: mask}
        if names.get("type_ids"):
            feeds[names["type_ids"]] = np.zeros_like(ids)
        (out,) = self.session(route["tower"]).run([route["output"]], feeds)
        pooling = route.get("pooling", "none")
        if pooling == "mean":
            m = mask[..., None].astype(np.float32)
            out = (out * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        elif pooling == "cls":
            out = out[:, 0]
        elif pooling == "eos":
            out = out[np.arange(len(ids)), ids.argmax(1)]
        if route.get("normalize"):
            out = l2(out)
        return out.astype(np.float32)

    def text_route(self, endpoint_id=None):
        for ep in self.manifest["endpoints"]:
            if "text" in ep and (endpoint_id is None or ep["id"] == endpoint_id):
                return ep["text"]
        raise SystemExit(f"{self.folder}: no text endpoint {endpoint_id or ''}")


def l2(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def photos_in(folder):
    files = sorted(f for f in glob.glob(os.path.join(folder, "*")) if f.lower().endswith(PHOTO_EXTS))
    # Sprite sheets (a PNG with a JSON of the same name beside it) are not photos.
    return [f for f in files if not os.path.isfile(os.path.splitext(f)[0] + ".json")]


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- subcommands -------------------------------------------------------------------------
def cmd_vectors(args):
    model = Model(args.model, args.threads)
    classes = None
    classes_path = os.path.join(args.model, "imagenet_classes.json")
    if os.path.isfile(classes_path):
        with open(classes_path, encoding="utf-8") as f:
            classes = json.load(f)
    outputs = [o.name for o in model.session(model.tower("image")[0]).get_outputs()]
    photos = photos_in(args.images)
    if not photos:
        raise SystemExit(f"no photos in {args.images}")
    endpoints = model.manifest["endpoints"]
    # text -> photo: the endpoint with both routes; photo -> photo: the first image endpoint.
    cross = next((e for e in endpoints if "image" in e and "text" in e), None)
    visual = next((e for e in endpoints if "image" in e), None)

    result = {"image_model": os.path.relpath(args.model, ROOT),
              "preprocess": model.tower("image")[1]["preprocess"],
              "images": {}, "texts": {}}
    for path in photos:
        with Image.open(path) as img:
            x = model.preprocess(img)
        out = model.run_image(x[None], outputs)
        entry = {
            # Per-channel mean of the model input, to localise a preprocessing mismatch.
            "pixel_values_channel_mean": [float(v) for v in x.reshape(3, -1).mean(1)],
        }
        for name in outputs:
            if name == "logits" and classes is not None:
                p = softmax(out[name][0])
                top = np.argsort(-p)[:5]
                entry["top5"] = [[classes[i], round(float(p[i]), 4)] for i in top]
            elif out[name].shape[-1] <= 4096:
                entry[name] = [float(v) for v in out[name][0]]
        result["images"][os.path.basename(path)] = entry

    # Texts: through the cross-modal endpoint's text route when the image model has one
    # (efficientnet-lite0-text-space: MiniLM; a CLIP: its text tower), else --text-model.
    texts = args.texts or DEFAULT_TEXTS
    if cross is not None:
        result["text_endpoint"] = cross["id"]
        vecs = model.embed_texts(texts, cross["text"])
    else:
        text_model = Model(args.text_model, args.threads)
        result["text_model"] = os.path.relpath(args.text_model, ROOT)
        vecs = text_model.embed_texts(texts, text_model.text_route())
    for t, v in zip(texts, vecs):
        result["texts"][t] = [float(x) for x in v]

    names = list(result["images"])

    def image_vectors(route):  # L2-normalised: rankings are by cosine
        return l2(np.array([result["images"][n][route["output"]] for n in names], dtype=np.float32))

    rankings = {}
    if cross is not None:
        sims = vecs @ image_vectors(cross["image"]).T
        rankings["text_to_photo"] = {
            "endpoint": cross["id"],
            "results": {t: [[names[j], round(float(sims[i, j]), 4)] for j in np.argsort(-sims[i])[:3]]
                        for i, t in enumerate(texts)}}
    if visual is not None:
        sims = image_vectors(visual["image"])
        sims = sims @ sims.T
        np.fill_diagonal(sims, -np.inf)  # nearest other photo
        rankings["photo_to_photo"] = {
            "endpoint": visual["id"],
            "results": {n: [names[int(np.argmax(sims[i]))], round(float(np.max(sims[i])), 4)]
                        for i, n in enumerate(names)}}
    result["rankings"] = rankings

    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    summary = {"out": args.out, "images": len(names), "texts": len(texts)}
    if classes is not None:
        summary["top1_class"] = {n: result["images"][n]["top5"][0][0] for n in names}
    if "text_to_photo" in rankings:
        summary["text_to_photo_first"] = {t: r[0][0] for t, r in rankings["text_to_photo"]["results"].items()}
    if "photo_to_photo" in rankings:
        summary["nearest_other_photo"] = {n: r[0] for n, r in rankings["photo_to_photo"]["results"].items()}
    print(json.dumps(summary, indent=1))


def load_sprite(folder, name):
    with open(os.path.join(folder, name + ".json"), encoding="utf-8") as f:
        meta = json.load(f)
    sheet = Image.open(os.path.join(folder, name + ".png"))
    sheet.load()
    w, h, cols = meta["tile_width"], meta["tile_height"], meta["columns"]
    tiles = []
    for i in range(meta["count"]):
        r, c = divmod(i, cols)
        tiles.append(sheet.crop((c * w, r * h, (c + 1) * w, (r + 1) * h)))
    return tiles, meta["labels"]


def embed_images(model, images, output, batch=32):
    out = []
    for i in range(0, len(images), batch):
        x = np.stack([model.preprocess(im) for im in images[i:i + batch]])
        out.append(model.run_image(x, [output])[output])
    return np.concatenate(out)


def cmd_precision(args):
    model = Model(args.model, args.threads)
    tiles, labels = load_sprite(args.images, args.set)
    t0 = time.perf_counter()
    emb = l2(embed_images(model, tiles, args.output))
    elapsed = time.perf_counter() - t0
    labels = np.array([str(v) for v in labels])
    sims = emb @ emb.T
    np.fill_diagonal(sims, -np.inf)  # leave the query itself out
    k = args.k
    top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    hits = (labels[top] == labels[:, None]).mean(axis=1)
    same = (labels[None, :] == labels[:, None]).sum(axis=1) - 1
    print(json.dumps({
        "set": args.set, "count": len(tiles), "output": args.output, "k": k,
        "precision_at_k": round(float(hits.mean()), 4),
        "chance": round(float((same / (len(labels) - 1)).mean()), 4),
        "per_label": {l: round(float(hits[labels == l].mean()), 4) for l in sorted(set(labels))},
        "embed_seconds": round(elapsed, 2)}))


def cmd_bench(args):
    model = Model(args.model, args.threads)
    name, tower = model.tower("image")
    output = args.output
    photos = photos_in(args.images)
    if not photos:
        raise SystemExit(f"no photos in {args.images}")
    blobs = []
    for p in photos:
        with open(p, "rb") as f:
            blobs.append(f.read())
    sess = model.session(name)
    # Warm-up: first runs allocate and tune.
    warm = np.stack([model.preprocess(Image.open(io.BytesIO(blobs[0])))] * 2)
    sess.run([output], {tower["input"]: warm})

    for batch in [int(b) for b in args.batch.split(",")]:
        n_batches = max(1, -(-args.images_per_batch_size // batch))
        t_dec = t_pre = t_inf = 0.0
        count = 0
        for b in range(n_batches):
            items = [blobs[(b * batch + i) % len(blobs)] for i in range(batch)]
            t0 = time.perf_counter()
            imgs = []
            for blob in items:
                im = Image.open(io.BytesIO(blob))
                im.load()
                imgs.append(im)
            t1 = time.perf_counter()
            x = np.stack([model.preprocess(im) for im in imgs])
            t2 = time.perf_counter()
            sess.run([output], {tower["input"]: x})
            t3 = time.perf_counter()
            t_dec += t1 - t0
            t_pre += t2 - t1
            t_inf += t3 - t2
            count += batch
        total = t_dec + t_pre + t_inf
        print(json.dumps({
            "model": os.path.basename(os.path.normpath(args.model)), "output": output,
            "batch": batch, "threads": args.threads, "images": count,
            "images_per_s": round(count / total, 1),
            "decode_images_per_s": round(count / t_dec, 1),
            "preprocess_images_per_s": round(count / t_pre, 1),
            "inference_images_per_s": round(count / t_inf, 1),
            "ms_per_image": {"decode": round(1000 * t_dec / count, 2),
                             "preprocess": round(1000 * t_pre / count, 2),
                             "inference": round(1000 * t_inf / count, 2)}}), flush=True)


def main():
    ap = argparse.ArgumentParser(description="Reference image/text embedder (onnxruntime + PIL).")
    ap.add_argument("--model", default=DEFAULT_IMAGE_MODEL, help="image model folder")
    ap.add_argument("--text-model", default=DEFAULT_TEXT_MODEL, help="text model folder")
    ap.add_argument("--threads", type=int, default=2, help="intra-op threads")
    sub = ap.add_subparsers(dest="cmd", required=True)

    v = sub.add_parser("vectors", help="embeddings of the photos in a folder and of texts")
    v.add_argument("--images", default=os.path.join(ROOT, "tests", "images"))
    v.add_argument("--texts", nargs="*", help=f"default: {DEFAULT_TEXTS}")
    v.add_argument("--out", required=True)
    v.add_argument("--threads", type=int, default=argparse.SUPPRESS)

    p = sub.add_parser("precision", help="image->image precision@k on a sprite set")
    p.add_argument("--set", required=True, choices=["digits", "lfw"])
    p.add_argument("--images", default=os.path.join(ROOT, "tests", "images"))
    p.add_argument("--output", default="image_embeds")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--threads", type=int, default=argparse.SUPPRESS)

    b = sub.add_parser("bench", help="images/s: decode + preprocess + inference")
    b.add_argument("--images", default=os.path.join(ROOT, "tests", "images"))
    b.add_argument("--batch", default="1,8,32")
    b.add_argument("--threads", type=int, default=argparse.SUPPRESS)
    b.add_argument("--output", default="image_embeds")
    b.add_argument("--images-per-batch-size", type=int, default=128,
                   help="images run for each batch size (rounded up to whole batches)")

    args = ap.parse_args()
    args.model = os.path.abspath(args.model)
    args.text_model = os.path.abspath(args.text_model)
    {"vectors": cmd_vectors, "precision": cmd_precision, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
