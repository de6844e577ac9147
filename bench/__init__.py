"""Benchmarks (not tests): the operator against the API's limit and a kopf peer.

Run as modules (``python -m bench.run``, ``python -m bench.herd_scale_check``); results and
method are in ``docs/performance.md``.
"""
