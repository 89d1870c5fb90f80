"""CI smoke of bench/kernel_speed.py: it runs, covers every ISA and the oracle, and C beats Python.

The full measurement (200k words) is a benchmark, not a test; here a tiny batch
only proves the script works. The "C is faster" check has a margin of ~100x
(measured ~240x for AVX2, ~140x scalar), so noise on a shared machine cannot flip it.
"""
from bench import kernel_speed
from stream_w2v import _native


def test_kernel_speed_smoke():
    rows = kernel_speed.measure(vocab=200, words=20000, oracle_words=300)
    isas = set(_native.available_isas()) | {"oracle"}
    for mode in kernel_speed.MODES:
        got = {r["isa"]: r for r in rows if r["mode"] == mode}
        assert set(got) == isas
        assert all(r["updates"] > 0 for r in got.values())
        assert got["scalar"]["updates_per_sec"] > 10 * got["oracle"]["updates_per_sec"]
