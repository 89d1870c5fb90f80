"""Hypothesis profiles: "ci" (derandomized, reproducible) when CI is set, "dev" otherwise."""
import os

from hypothesis import HealthCheck, settings

# Kernel tests build matrices of up to 50 x 301 floats per example and replay
# them in a Python oracle: no per-example deadline, and generating them is
# allowed to be slow.
_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("ci", derandomize=True, max_examples=30, print_blob=True, **_COMMON)
settings.register_profile("dev", max_examples=60, **_COMMON)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
