"""Rebuild stream_w2v/data/kjv.txt.gz, the demo's text, from Debian's bibledit-data.

Provenance: the King James Version (1769 text, public domain) as the OSIS file
usr/share/bibledit/sources/kjv.xml of the Debian package bibledit-data
(5.0.994-3, bookworm). Run:

    apt-get download bibledit-data && dpkg-deb -x bibledit-data_*.deb x
    python tools/make_demo_text.py x/usr/share/bibledit/sources/kjv.xml

One verse per line, study notes removed, markup stripped, lowercased, letters
and apostrophes kept. gzip with mtime 0 so the output is byte-reproducible.
"""
import gzip
import re
import sys

VERSE = re.compile(r'<verse osisID="[^"]*" sID="[^"]*"/>(.*?)<verse eID', re.S)
NOTE = re.compile(r"<note\b.*?</note>", re.S)
TAG = re.compile(r"<[^>]*>")
NOT_WORD = re.compile(r"[^a-z']+")


def verses(xml: str):
    for match in VERSE.finditer(xml):
        text = TAG.sub(" ", NOTE.sub(" ", match.group(1))).lower()
        words = [w.strip("'") for w in NOT_WORD.split(text)]
        line = " ".join(w for w in words if w)
        if line:
            yield line


def main(src: str, out: str = "stream_w2v/data/kjv.txt.gz") -> None:
    with open(src, encoding="utf-8") as f:
        lines = list(verses(f.read()))
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
        gz.write(("\n".join(lines) + "\n").encode("utf-8"))
    print(f"{len(lines)} verses, {sum(len(l.split()) for l in lines)} words -> {out}")


if __name__ == "__main__":
    main(*sys.argv[1:])
