"""The controller runtime: a Python port of controller-runtime and the client-go parts it uses.

Knows nothing about backups: it never imports ``api``, ``controller`` or ``emulator``
(a test enforces it). See each module's docstring for what it guarantees.
"""
