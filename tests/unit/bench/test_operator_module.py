"""The benchmark starts the operator the way a user does, by a module that exists."""

from __future__ import annotations

import importlib.util

from bench.harness import OPERATOR_MODULE


def test_the_benchmark_launches_a_runnable_module() -> None:
    # ``python -m`` needs ``<package>.__main__``; a package moved without it makes every
    # benchmark run time out waiting for an operator that never started.
    assert importlib.util.find_spec(f"{OPERATOR_MODULE}.__main__") is not None
