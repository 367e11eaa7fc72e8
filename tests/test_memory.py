"""The Arrow allocator every task runs with (listening.memory.arrow_pool)."""
from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pytest

from conftest import REPO

PROBE = "import listening.lake, pyarrow as pa; print(pa.default_memory_pool().backend_name)"


def _pool(env_value: str | None) -> str:
    env = {"PYTHONPATH": str(REPO / "plugins"), "PATH": ""}
    if env_value:
        env["ARROW_DEFAULT_MEMORY_POOL"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env,
                          check=True).stdout.strip()


def test_tasks_allocate_with_jemalloc_unless_the_environment_says_otherwise():
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow was built without jemalloc")
    assert _pool(None) == "jemalloc"
    assert _pool("system") == "system"
