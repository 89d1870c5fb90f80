"""Checkpoints: a directory of .npy arrays and a JSON manifest, swapped in atomically.

Layout of a model directory::

    MODEL_DIR/CURRENT                 name of the current checkpoint (one line)
    MODEL_DIR/ckpt-000042/manifest.json
    MODEL_DIR/ckpt-000042/<name>.npy  one file per array

A checkpoint is written into a temporary directory, every file fsynced, the
directory renamed into place, then CURRENT replaced by ``os.replace`` (atomic
on POSIX). A crash at any moment leaves CURRENT naming a complete checkpoint.
The previous checkpoint is kept, so a damaged current one can be recovered.

Nothing read from disk is trusted: the checkpoint name must match
``ckpt-NNNNNN``, array names ``[a-z0-9_]+``, every file's SHA-256 must match
the manifest, and arrays load with ``allow_pickle=False``. No pickle, no eval.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import time

import numpy as np

FORMAT = "stream_w2v-checkpoint"
VERSION = 2   # 2: the manifest carries its own SHA-256 (1 is still read)
_CKPT = re.compile(r"^ckpt-(\d{6,12})$")
_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
_TMP = re.compile(r"^\.tmp-ckpt-\d{6,12}-(\d+)$")
MAX_MANIFEST = 256 << 20   # a manifest holds the vocabulary; bound what we read


class CheckpointError(ValueError):
    """A model directory that is missing, damaged or not a stream_w2v model."""


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def list_checkpoints(model_dir: str) -> list[str]:
    try:
        names = os.listdir(model_dir)
    except FileNotFoundError:
        return []
    return sorted((n for n in names if _CKPT.match(n)), key=lambda n: int(_CKPT.match(n).group(1)))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's process
        return True
    return True


def remove_stale_temporaries(model_dir: str) -> list[str]:
    """Remove the ``.tmp-ckpt-*`` directories left by a save that was killed.

    A temporary directory names the pid that wrote it; it is removed when that
    is this process (an earlier save of ours that failed) or no process is
    alive under that pid. Returns the names removed.
    """
    removed = []
    try:
        names = os.listdir(model_dir)
    except FileNotFoundError:
        return removed
    for n in names:
        m = _TMP.match(n)
        if m and (int(m.group(1)) == os.getpid() or not _pid_alive(int(m.group(1)))):
            shutil.rmtree(os.path.join(model_dir, n), ignore_errors=True)
            removed.append(n)
    return removed


def save(model_dir: str, arrays: dict[str, np.ndarray], meta: dict, keep: int = 2) -> str:
    """Write a new checkpoint and make it current; returns its directory.

    Temporaries of saves that were killed are removed first. On any error
    (a full disk: OSError ENOSPC) the partial temporary is removed, CURRENT and
    the checkpoints already there are untouched, and the error is raised.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, not {keep!r}")
    os.makedirs(model_dir, exist_ok=True)
    remove_stale_temporaries(model_dir)
    previous = _current_or_none(model_dir)
    # Prune before writing too: a save killed between making its checkpoint
    # current and pruning leaves one extra, and without this every such kill
    # would add one more. With it a directory never holds more than keep + 2.
    _prune(model_dir, keep, previous)
    existing = list_checkpoints(model_dir)
    number = int(_CKPT.match(existing[-1]).group(1)) + 1 if existing else 1
    name = f"ckpt-{number:06d}"
    tmp = os.path.join(model_dir, f".tmp-{name}-{os.getpid()}")
    final = os.path.join(model_dir, name)
    shutil.rmtree(tmp, ignore_errors=True)
    os.mkdir(tmp)
    stage = "writing"
    try:
        files = {}
        for key, array in arrays.items():
            if not _NAME.match(key):
                raise ValueError(f"bad array name {key!r}")
            data = _npy_bytes(array)
            _write_file(os.path.join(tmp, key + ".npy"), data)
            files[key] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        manifest = {"format": FORMAT, "version": VERSION, "checkpoint": name,
                    "time": time.time(), "files": files, "meta": meta}
        _write_file(os.path.join(tmp, "manifest.json"), seal_manifest(manifest))
        _fsync_dir(tmp)
        os.rename(tmp, final)
        stage = "renamed"
        _fsync_dir(model_dir)
        _write_file(os.path.join(model_dir, "CURRENT.tmp"), (name + "\n").encode("ascii"))
        os.replace(os.path.join(model_dir, "CURRENT.tmp"), os.path.join(model_dir, "CURRENT"))
        stage = "current"
        _fsync_dir(model_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if stage == "renamed":  # complete but never made current: do not leave it to be mistaken for one
            shutil.rmtree(final, ignore_errors=True)
        raise
    _prune(model_dir, keep, previous)
    return final


def _prune(model_dir: str, keep: int, protect: str | None) -> None:
    """Remove all but the newest ``keep`` checkpoints, except ``protect`` (the
    one current before this save: a recovery may have pointed CURRENT at an
    older one, and it must outlive the save that replaces it)."""
    for old in list_checkpoints(model_dir)[:-keep]:
        if old != protect:
            shutil.rmtree(os.path.join(model_dir, old), ignore_errors=True)


def recover_current(model_dir: str) -> str | None:
    """A directory with checkpoints but no CURRENT: point CURRENT at the newest
    checkpoint that verifies, and return its name (None if nothing was done).

    Only a kill between a first save's rename and its CURRENT (or a CURRENT
    deleted by hand) leaves such a directory; every checkpoint directory is
    complete (fsynced before its rename), so the newest one that verifies is
    the last complete checkpoint.
    """
    if os.path.exists(os.path.join(model_dir, "CURRENT")):
        return None
    for name in reversed(list_checkpoints(model_dir)):
        try:
            load(model_dir, name)
        except CheckpointError:
            continue
        _write_file(os.path.join(model_dir, "CURRENT.tmp"), (name + "\n").encode("ascii"))
        os.replace(os.path.join(model_dir, "CURRENT.tmp"), os.path.join(model_dir, "CURRENT"))
        _fsync_dir(model_dir)
        return name
    return None


def _current_or_none(model_dir: str) -> str | None:
    try:
        return current_name(model_dir)
    except CheckpointError:
        return None


def _manifest_digest(manifest: dict) -> str:
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()


def seal_manifest(manifest: dict) -> bytes:
    """The manifest as written: JSON carrying the SHA-256 of its own other fields,
    so that a flipped digit in a count is refused like a flipped byte in an array."""
    sealed = dict(manifest, manifest_sha256=_manifest_digest(manifest))
    return json.dumps(sealed, sort_keys=True).encode("utf-8")


def current_name(model_dir: str) -> str:
    path = os.path.join(model_dir, "CURRENT")
    if not os.path.isdir(model_dir):
        raise CheckpointError(f"{model_dir}: no such model directory")
    try:
        with open(path, "rb") as f:
            raw = f.read(64)
    except FileNotFoundError:
        raise CheckpointError(f"{model_dir}: not a stream_w2v model directory (no CURRENT file)") from None
    name = raw.decode("ascii", errors="replace").strip()
    if not _CKPT.match(name):
        raise CheckpointError(f"{path}: damaged (does not name a checkpoint)")
    return name


def load(model_dir: str, name: str | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Read and verify a checkpoint (the current one unless ``name`` is given)."""
    name = name or current_name(model_dir)
    if not _CKPT.match(name):
        raise CheckpointError(f"{name!r} is not a checkpoint name")
    ckpt = os.path.join(model_dir, name)
    manifest = _read_manifest(os.path.join(ckpt, "manifest.json"))
    arrays = {}
    for key, entry in manifest["files"].items():
        path = os.path.join(ckpt, key + ".npy")
        try:
            with open(path, "rb") as f:
                data = f.read(int(entry["bytes"]) + 1)
        except FileNotFoundError:
            raise CheckpointError(f"{path}: missing") from None
        if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
            # Either file may be the wrong one (a manifest swapped with another
            # checkpoint's makes every array mismatch): name both.
            raise CheckpointError(f"{path}: damaged or not of this checkpoint "
                                  f"(size or checksum does not match {os.path.join(ckpt, 'manifest.json')})")
        try:
            arrays[key] = np.load(io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:
            raise CheckpointError(f"{path}: not a valid array ({exc})") from None
    manifest["meta"]["checkpoint"] = name
    manifest["meta"]["checkpoint_time"] = manifest["time"]
    return arrays, manifest["meta"]


def _read_manifest(path: str) -> dict:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST + 1)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing") from None
    if len(raw) > MAX_MANIFEST:
        raise CheckpointError(f"{path}: larger than {MAX_MANIFEST} bytes")
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: damaged ({exc.__class__.__name__})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a stream_w2v checkpoint manifest")
    version = manifest.get("version")
    if version not in (1, VERSION):
        raise CheckpointError(f"{path}: format version {version!r}, this build reads 1 to {VERSION}")
    # Version 2 manifests carry their own checksum (version 1 ones, written
    # before it existed, are read as before).
    if version >= 2 and manifest.get("manifest_sha256") != _manifest_digest(manifest):
        raise CheckpointError(f"{path}: damaged (its checksum does not match its content)")
    files = manifest.get("files")
    if not isinstance(files, dict) or not isinstance(manifest.get("meta"), dict):
        raise CheckpointError(f"{path}: damaged (no files or meta)")
    for key, entry in files.items():
        if not _NAME.match(str(key)) or not isinstance(entry, dict) \
                or not isinstance(entry.get("bytes"), int) or not 0 <= entry["bytes"] < 1 << 40 \
                or not isinstance(entry.get("sha256"), str):
            raise CheckpointError(f"{path}: damaged entry {key!r}")
    if not isinstance(manifest.get("time"), (int, float)):
        raise CheckpointError(f"{path}: damaged (no time)")
    return manifest
