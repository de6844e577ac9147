"""An in-process Kubernetes API server emulator for tests and the sandbox.

Speaks the Kubernetes REST API over real HTTP with the real server's semantics, written from
the Kubernetes API documentation. Imports none of the operator's packages (a test enforces it).
"""
