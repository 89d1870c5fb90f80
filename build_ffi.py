"""CFFI out-of-line API-mode builder for stream_w2v's kernels.

The cdef is read from csrc/w2v.h between its CDEF markers, so the header is the
single contract: nothing about a type or a signature is written twice.
"""
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.join(HERE, "csrc")
SOURCES = ["dispatch.c", "tables.c", "alias.c", "word_table.c", "tokenize.c", "huffman.c",
           "kernel_scalar.c", "kernel_avx2.c", "kernel_avx512.c"]


def read_cdef(header_path):
    with open(header_path, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"/\* CDEF-BEGIN \*/(.*)/\* CDEF-END \*/", text, re.S)
    if match is None:
        raise RuntimeError(f"{header_path}: CDEF markers not found")
    return match.group(1)


ffibuilder = FFI()
ffibuilder.cdef(read_cdef(os.path.join(CSRC, "w2v.h")))
ffibuilder.set_source(
    "stream_w2v._w2v",
    '#include "w2v.h"',
    # Relative paths: setuptools refuses absolute source paths in a build.
    sources=[os.path.relpath(os.path.join(CSRC, s), os.getcwd()) for s in SOURCES],
    include_dirs=[CSRC],
    # The headers the kernel files include (train_impl.h above all): without
    # them an edit of a header alone left an in-place build "up to date".
    depends=sorted(os.path.relpath(os.path.join(CSRC, h), os.getcwd())
                   for h in os.listdir(CSRC) if h.endswith(".h")),
    # Portable and exact on purpose: no -march=native (the ISA is picked at run
    # time) and no -ffast-math (results must not depend on unsafe math).
    # -fno-math-errno only stops sqrtf from setting errno (the argument is an
    # AdaGrad accumulator, > 0), so it compiles to one exact sqrtss and the
    # scalar AdaGrad loop can vectorize; it changes no result.
    extra_compile_args=["-O3", "-std=c11", "-fno-strict-aliasing", "-fno-math-errno"] + (
        ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
        if os.environ.get("STREAM_W2V_SANITIZE") else []),
    extra_link_args=["-lm"] + (
        ["-fsanitize=address,undefined"] if os.environ.get("STREAM_W2V_SANITIZE") else []),
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
