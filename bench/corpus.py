"""The benchmark corpus: >= 10M English tokens from Debian text packages.

    python -m bench corpus [--data-dir DIR] [--force]

Debian's packages are the only text this machine can fetch, so the corpus is
built from them: `apt-get download` into a temporary directory, `dpkg-deb -x`,
then one reader per format (dictd databases, fortune files, two Bibles in
OSIS markup: an XML file and a SWORD module). Sources, ~11.0M tokens in all:
GCIDE (Webster 1913) 4.1M, WordNet 4.0M, World English Bible 0.9M, KJV 0.8M,
FOLDOC 0.8M, fortunes 0.4M, Jargon File 0.2M, Devil's Dictionary 0.06M.
Every source is cut into *units* (a dictionary sense, a fortune, a verse),
each normalized to one line: ASCII-folded, lowercased, letters, digits and
apostrophes kept, everything else a space.

Units are ordered by a hash of (source, index) rather than source by source:
a dictionary read A to Z would make the first million tokens all "a..."
words, which would make the small corpus (its first lines) useless and every
stream-position curve an artefact of the alphabet. A window never crosses a
line, so the shuffle changes no training example. The order depends only on
the package contents: the same package versions give the same bytes (the
manifest records versions, the .deb hashes and the output's sha256).

Output (in the data directory, default bench/data/, git-ignored):
``full.txt``, ``small.txt`` (the first lines of full.txt, ~1M tokens) and
``corpus.json`` (token and line counts, sha256, package versions).
"""
from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata
from pathlib import Path

DEFAULT_DATA_DIR = Path(os.environ.get("STREAM_W2V_BENCH_DATA", Path(__file__).parent / "data"))
SMALL_TOKENS = 1_000_000
MIN_FULL_TOKENS = 10_000_000

NOT_WORD = re.compile(r"[^a-z0-9']+")
HAS_LETTER = re.compile(r"[a-z]")
# gcide markup: \Ab*di"ca*tion\ headwords, "(z[i^]"th[u^]m)" pronunciations,
# "[e^]"-style accent marks, and bracketed etymologies / "[1913 Webster]".
GCIDE_HEADWORD = re.compile(r"\\[^\\]*\\")
GCIDE_PRONOUNCE = re.compile(r"\((?=[^()]*[\[\"*`])[^()]*\)")
GCIDE_ACCENT = re.compile(r"\[[=.]?([a-zA-Z])(?:[\^'`~\"]|mac|cr|sdot|dot|ddot|ring)?\]")
INNER_BRACKETS = re.compile(r"\[[^\[\]]*\]")
# WordNet sense markers ("n 1:", "adj 2:", "3:") start a new unit and are
# dropped from the text (they would make "n" and "1" frequent context words).
WN_SENSE = re.compile(r"^\s+(?:(?:n|v|adj|adv)\s+)?\d+:\s")
WN_SENSE_ANYWHERE = re.compile(r"(?:^|\s)(?:(?:n|v|adj|adv)\s+)?\d+:\s")
WN_LABELS = re.compile(r"\[(?:syn|ant|also|see):")


def normalize(text: str) -> str:
    """One line of space-separated tokens: ASCII-folded, lowercase, [a-z0-9'] only."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join(w for w in (t.strip("'") for t in NOT_WORD.split(text)) if w)


# ---------------------------------------------------------------- readers

def dict_units(path: str, headwords: bool = False) -> list[str]:
    """Paragraphs of a dictd database (.dict.dz is gzip-compatible).

    A blank line ends a unit. With ``headwords`` (gcide, WordNet) a line in
    column 0 starts a new entry too, and so does a WordNet sense marker
    ("n 1:", "2:"), except the first one, which stays with its headword.
    The dictd header entries ("00-database-...") are metadata, not text.
    """
    units, current = [], []
    head_only = False  # current holds only a headword line

    def flush():
        if current:
            units.append(" ".join(current))
            current.clear()

    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                flush()
                continue
            if headwords and not line[0].isspace():
                flush()
                head_only = True
            elif headwords and WN_SENSE.match(line) and not head_only:
                flush()
            else:
                head_only = False
            current.append(line.strip())
    flush()
    return [u for u in units if not u.startswith("00-database") and not u.startswith("00database")]


def headword_units(path: str) -> list[str]:
    return dict_units(path, headwords=True)


def clean_gcide(unit: str) -> str:
    unit = GCIDE_PRONOUNCE.sub(" ", GCIDE_HEADWORD.sub(" ", unit))
    unit = GCIDE_ACCENT.sub(r"\1", unit)
    while True:  # etymologies nest brackets: remove innermost first
        stripped = INNER_BRACKETS.sub(" ", unit)
        if stripped == unit:
            return stripped.replace("{", " ").replace("}", " ")
        unit = stripped


def clean_dict(unit: str) -> str:
    """WordNet/jargon/devil: keep synonym lists (they are text), drop their labels."""
    unit = WN_SENSE_ANYWHERE.sub(" ", unit)
    return WN_LABELS.sub(" ", unit).translate(str.maketrans("{}[]", "    "))


def fortune_units(directory: str) -> list[str]:
    """Each fortune (text between '%' lines) of every plain fortune file, by file name.

    *.dat are strfile indexes, *.u8 symlinks to the same text; ascii-art has no words.
    """
    units = []
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        name = os.path.basename(path)
        if "." in name or os.path.islink(path) or not os.path.isfile(path) or name == "ascii-art":
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            units.extend(" ".join(chunk.split()) for chunk in re.split(r"^%$", f.read(), flags=re.M))
    return units


OSIS_VERSE = re.compile(r'<verse osisID="[^"]*" sID="[^"]*"/>(.*?)<verse eID', re.S)
OSIS_NOTE = re.compile(r"<note\b.*?</note>", re.S)
TAG = re.compile(r"<[^>]*>")


def osis_verses(path: str) -> list[str]:
    """Verses of an OSIS Bible, study notes dropped."""
    with open(path, encoding="utf-8") as f:
        xml = f.read()
    return [_strip_osis(m.group(1)) for m in OSIS_VERSE.finditer(xml)]


def _strip_osis(xml: str) -> str:
    return TAG.sub(" ", OSIS_NOTE.sub(" ", xml))


def sword_verses(directory: str) -> list[str]:
    """Verses of a SWORD zText module (OSIS markup), Old then New Testament.

    zText layout: NT.bzs holds (offset, size, uncompressed size) of each
    zlib block in NT.bzz; NT.bzv holds (block, offset, size) of each verse
    inside the uncompressed block; empty slots (headings) have size 0.
    """
    import struct
    import zlib
    verses = []
    for testament in ("ot", "nt"):
        base = os.path.join(directory, testament)
        with open(base + ".bzs", "rb") as f:
            index = f.read()
        with open(base + ".bzz", "rb") as f:
            data = f.read()
        with open(base + ".bzv", "rb") as f:
            slots = f.read()
        blocks = [zlib.decompress(data[off:off + size])
                  for off, size, _ in struct.iter_unpack("<III", index)]
        for block, off, size in struct.iter_unpack("<IIH", slots):
            if size:
                verses.append(_strip_osis(blocks[block][off:off + size].decode("utf-8", errors="replace")))
    return verses


# (name, packages, path inside the extracted packages, reader, cleaner). Fixed
# order: the manifest and the hash order use these names. fortunes-min holds
# three of the fortune files (fortunes, literature, riddles), fortunes the rest.
SOURCES = [
    ("gcide", ("dict-gcide",), "usr/share/dictd/gcide.dict.dz", headword_units, clean_gcide),
    ("wordnet", ("dict-wn",), "usr/share/dictd/wn.dict.dz", headword_units, clean_dict),
    ("kjv", ("bibledit-data",), "usr/share/bibledit/sources/kjv.xml", osis_verses, None),
    ("web", ("sword-text-web",), "usr/share/sword/modules/texts/ztext/engWEB2015eb", sword_verses, None),
    ("foldoc", ("dict-foldoc",), "usr/share/dictd/foldoc.dict.dz", dict_units, clean_dict),
    ("fortunes", ("fortunes", "fortunes-min"), "usr/share/games/fortunes", fortune_units, None),
    ("jargon", ("dict-jargon",), "usr/share/dictd/jargon.dict.dz", dict_units, clean_dict),
    ("devil", ("dict-devil",), "usr/share/dictd/devil.dict.dz", dict_units, clean_dict),
]


# ---------------------------------------------------------------- fetching

def _run(cmd: list[str], cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def fetch(packages: list[str], workdir: str) -> dict[str, dict]:
    """apt-get download the packages into workdir and extract them; {package: {version, deb_sha256}}.

    An empty or stale apt list makes `apt-get download` fail to locate a
    package: then `apt-get update` (needs root) once, and retry.
    """
    res = _run(["apt-get", "download", *packages], workdir)
    if res.returncode != 0:
        print("apt-get download failed; running apt-get update", file=sys.stderr)
        upd = _run(["apt-get", "update"], workdir)
        if upd.returncode != 0:
            raise RuntimeError(f"apt-get update failed (root needed?):\n{upd.stderr}")
        res = _run(["apt-get", "download", *packages], workdir)
        if res.returncode != 0:
            raise RuntimeError(f"apt-get download {' '.join(packages)} failed:\n{res.stderr}")
    info = {}
    for package in packages:
        debs = glob.glob(os.path.join(workdir, f"{package}_*.deb"))
        if len(debs) != 1:
            raise RuntimeError(f"expected one .deb for {package}, found {debs}")
        subprocess.run(["dpkg-deb", "-x", debs[0], os.path.join(workdir, "root")], check=True)
        version = _run(["dpkg-deb", "-f", debs[0], "Version"], workdir).stdout.strip()
        info[package] = {"version": version, "deb_sha256": _sha256(debs[0])}
    return info


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- building

def collect(root: str) -> tuple[list[str], dict]:
    """Normalized lines of every source under the extracted root, in hash order."""
    keyed, per_source = [], {}
    for name, _packages, rel, reader, cleaner in SOURCES:
        units = reader(os.path.join(root, rel))
        lines = 0
        tokens = 0
        for i, unit in enumerate(units):
            line = normalize(cleaner(unit) if cleaner else unit)
            if not HAS_LETTER.search(line):  # foldoc's "(1998-09-15)" date lines, empty units
                continue
            key = hashlib.blake2b(f"{name}\0{i}".encode(), digest_size=8).digest()
            keyed.append((key, line))
            lines += 1
            tokens += line.count(" ") + 1
        per_source[name] = {"lines": lines, "tokens": tokens}
    keyed.sort()
    return [line for _, line in keyed], per_source


def _write(path: Path, lines: list[str]) -> dict:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)
    return {"file": path.name, "lines": len(lines), "tokens": sum(l.count(" ") + 1 for l in lines),
            "bytes": path.stat().st_size, "sha256": _sha256(path)}


def build(data_dir: Path = DEFAULT_DATA_DIR) -> dict:
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    packages = sorted({p for s in SOURCES for p in s[1]})
    with tempfile.TemporaryDirectory(prefix="stream_w2v_corpus_") as work:
        info = fetch(packages, work)
        lines, per_source = collect(os.path.join(work, "root"))
    full = _write(data_dir / "full.txt", lines)
    if full["tokens"] < MIN_FULL_TOKENS:
        raise RuntimeError(f"corpus has only {full['tokens']} tokens (< {MIN_FULL_TOKENS})")
    n, small_tokens = 0, 0
    while small_tokens < SMALL_TOKENS:
        small_tokens += lines[n].count(" ") + 1
        n += 1
    small = _write(data_dir / "small.txt", lines[:n])
    manifest = {"packages": info, "sources": per_source, "corpora": {"full": full, "small": small}}
    with open(data_dir / "corpus.json", "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    return manifest


def ensure(name: str = "full", data_dir: Path = DEFAULT_DATA_DIR) -> dict:
    """The corpus ``name`` ('full' or 'small') as {path, tokens, lines, sha256, ...}; built if missing."""
    data_dir = Path(data_dir)
    manifest_path = data_dir / "corpus.json"
    manifest = None
    if manifest_path.exists():
        with open(manifest_path) as f:
            manifest = json.load(f)
        entry = manifest["corpora"].get(name, {})
        path = data_dir / entry.get("file", "-")
        # Size check only: hashing 60 MB on every benchmark run would cost ~0.2 s for nothing.
        if not path.exists() or path.stat().st_size != entry.get("bytes"):
            manifest = None
    if manifest is None:
        manifest = build(data_dir)
    return dict(manifest["corpora"][name], name=name, path=str(data_dir / manifest["corpora"][name]["file"]))


def describe(manifest: dict) -> str:
    out = []
    for name, c in manifest["corpora"].items():
        out.append(f"{name:6} {c['tokens']:>12,} tokens {c['lines']:>10,} lines {c['bytes']:>12,} bytes  "
                   f"sha256 {c['sha256']}  {c['file']}")
    for name, s in manifest["sources"].items():
        out.append(f"  {name:9} {s['tokens']:>12,} tokens {s['lines']:>10,} lines")
    for pkg, p in manifest["packages"].items():
        out.append(f"  {pkg} {p['version']}")
    return "\n".join(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    args = parser.parse_args(argv)
    if args.force:
        build(args.data_dir)
    else:
        ensure("full", args.data_dir)
    with open(Path(args.data_dir) / "corpus.json") as f:
        print(f"{args.data_dir}:")
        print(describe(json.load(f)))


if __name__ == "__main__":
    main()
