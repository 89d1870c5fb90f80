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


def test_shared_negatives_speed_smoke():
    """--shared runs both variants of both update rules, alternating, and both train."""
    rows = kernel_speed.measure_shared(vocab=200, words=5000, reps=2, sample=1e-3)
    assert [(r["lr_mode"], r["shared"], r["rep"]) for r in rows] == [
        (m, sh, rep) for m in ("sgd", "adagrad_row") for rep in range(2) for sh in (False, True)]
    assert all(r["updates"] > 0 and r["examples"] > 0 for r in rows)
    for m in ("sgd", "adagrad_row"):                       # the repetitions train the same batch
        for sh in (False, True):
            assert len({(r["words_kept"], r["updates"]) for r in rows
                        if r["lr_mode"] == m and r["shared"] == sh}) == 1
