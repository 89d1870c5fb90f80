"""Benchmarks of stream_w2v: ``python -m bench --help``. Never run by CI (only its smoke tests are)."""
