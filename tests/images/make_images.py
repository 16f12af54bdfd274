#!/usr/bin/env python3
"""Rebuilds the test images in tests/images/ from the scikit-image and scikit-learn wheels.

Nothing is installed: the two wheels are downloaded with `pip download` into .cache/wheels/data
and the data files are read straight out of them with zipfile. Needs numpy and Pillow
(e.g. the venv of bench/requirements-embed.txt). See SOURCES.md for origins and licences.

    .cache/models-venv/bin/python tests/images/make_images.py
"""

import gzip
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "images")
WHEELS = os.path.join(ROOT, ".cache", "wheels", "data")
SKIMAGE = "scikit-image==0.26.0"
SKLEARN = "scikit-learn==1.9.1"

PHOTOS = [  # (requirement, member, output)
    (SKIMAGE, "skimage/data/chelsea.png", "cat.jpg"),
    (SKIMAGE, "skimage/data/astronaut.png", "astronaut.jpg"),
    (SKIMAGE, "skimage/data/coffee.png", "coffee.jpg"),
    (SKIMAGE, "skimage/data/rocket.jpg", "rocket.jpg"),
    (SKIMAGE, "skimage/data/motorcycle_left.png", "motorcycle.jpg"),
    (SKLEARN, "sklearn/datasets/images/china.jpg", "temple.jpg"),
    (SKLEARN, "sklearn/datasets/images/flower.jpg", "flower.jpg"),
]
SHORT_SIDE = 256
JPEG_QUALITY = 90
COLUMNS = 25


def wheel(requirement):
    name, version = requirement.split("==")
    prefix = f"{name.replace('-', '_')}-{version}-"
    found = [f for f in sorted(os.listdir(WHEELS)) if f.startswith(prefix)] if os.path.isdir(WHEELS) else []
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
                        "--python-version", "3.11", "-d", WHEELS, requirement], check=True)
        found = [f for f in sorted(os.listdir(WHEELS)) if f.startswith(prefix)]
    return zipfile.ZipFile(os.path.join(WHEELS, found[0]))


def sprite(tiles, path):
    """tiles: uint8 [n, h, w] -> one grey PNG, COLUMNS tiles per row, row-major."""
    n, h, w = tiles.shape
    rows = (n + COLUMNS - 1) // COLUMNS
    sheet = np.zeros((rows * h, COLUMNS * w), dtype=np.uint8)
    for i, t in enumerate(tiles):
        r, c = divmod(i, COLUMNS)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = t
    Image.fromarray(sheet).save(path, optimize=True)


def write_json(meta, path):
    """One key a line, the label list on one line."""
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in meta.items()) + "\n}\n")


def main():
    zips = {SKIMAGE: wheel(SKIMAGE), SKLEARN: wheel(SKLEARN)}

    for requirement, member, out in PHOTOS:
        img = Image.open(io.BytesIO(zips[requirement].read(member))).convert("RGB")
        w, h = img.size
        s = SHORT_SIDE / min(w, h)
        img = img.resize((round(w * s), round(h * s)), Image.BICUBIC)
        img.save(os.path.join(OUT, out), quality=JPEG_QUALITY)
        print(f"{out}: {member} {w}x{h} -> {img.size[0]}x{img.size[1]}")

    # sklearn load_digits: digits.csv.gz rows are 64 pixels (0..16) then the class.
    raw = gzip.decompress(zips[SKLEARN].read("sklearn/datasets/data/digits.csv.gz")).decode()
    data = np.array([[int(float(v)) for v in line.split(",")] for line in raw.splitlines() if line])
    picked, seen = [], [0] * 10
    for row in data:  # the first 50 of each class, in the data set's order
        if seen[row[-1]] < 50:
            seen[row[-1]] += 1
            picked.append(row)
    picked = np.array(picked)
    tiles = np.rint(picked[:, :64].reshape(-1, 8, 8) * 255.0 / 16.0).astype(np.uint8)
    sprite(tiles, os.path.join(OUT, "digits.png"))
    meta = {"source": "scikit-learn 1.9.1 load_digits (sklearn/datasets/data/digits.csv.gz): "
                      "the first 50 images of each class in data set order; 0..16 scaled to 0..255",
            "tile_width": 8, "tile_height": 8, "columns": COLUMNS, "count": len(tiles),
            "labels": [int(v) for v in picked[:, -1]]}
    write_json(meta, os.path.join(OUT, "digits.json"))
    print(f"digits.png: {len(tiles)} tiles")

    # skimage lfw_subset: 200 x 25 x 25, 100 faces then 100 non-faces. The .npy holds float64
    # in 0..1 (its docstring says uint8): stored here as round(x * 255).
    lfw = np.load(io.BytesIO(zips[SKIMAGE].read("skimage/data/lfw_subset.npy")))
    assert lfw.shape == (200, 25, 25), lfw.shape
    if lfw.dtype != np.uint8:
        lfw = np.rint(np.clip(lfw, 0.0, 1.0) * 255.0).astype(np.uint8)
    sprite(lfw, os.path.join(OUT, "lfw.png"))
    meta = {"source": "scikit-image 0.26.0 data.lfw_subset() (skimage/data/lfw_subset.npy): "
                      "the first 100 are faces, the last 100 non-faces; float 0..1 scaled to 0..255",
            "tile_width": 25, "tile_height": 25, "columns": COLUMNS, "count": len(lfw),
            "labels": ["face"] * 100 + ["non-face"] * 100}
    write_json(meta, os.path.join(OUT, "lfw.json"))
    print(f"lfw.png: {len(lfw)} tiles")


if __name__ == "__main__":
    main()
