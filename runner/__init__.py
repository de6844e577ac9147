"""dbbackup-runner: the backup image's program (backup, list, verify, restore).

Role: honours the backup-image contract in :mod:`api.v1alpha1.contract`: the environment the
operator sets on every Job is its whole input. It dumps a database with the engine's own tool,
streams the dump through zstd into S3, GCS or a directory, writes a manifest last, enforces the
retention, and can list, verify and restore what it wrote.

Guarantees: constant memory whatever the database size (bounded chunks, never the whole dump in
memory or on local disk); an interrupted run leaves no partial object; credentials never
appear in logs or on a command line; every failure maps to an exit code of the contract.
Non-goals: scheduling (the operator's Jobs), and any import of ``manager``, ``controller`` or
``emulator`` (``tests/test_layering.py``).
"""
