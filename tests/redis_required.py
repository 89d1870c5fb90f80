"""What the Redis tests need: Debian's redis-server and the redis package.

Missing either fails the test under CI=true (.ci/run installs both) and skips
it elsewhere, with the reason."""
import os
import shutil

import pytest


def require_redis(what: str = "the Redis tests") -> None:
    missing = []
    if shutil.which("redis-server") is None:
        missing.append("redis-server (Debian: apt-get install redis-server; .ci/run installs it)")
    try:
        import redis  # noqa: F401
    except ImportError:
        missing.append("the redis package (pip install -e '.[test]')")
    if missing:
        message = f"{what} need " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
