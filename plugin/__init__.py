"""``kubectl dbbackup``: run, restore, inspect, suspend and resume backups from a terminal.

A kubectl plugin (the console script ``kubectl-dbbackup``; kubectl finds it on ``PATH``). It
talks to the API server with the user's kubeconfig and RBAC, never the operator's, and only
creates or changes objects the operator then reconciles: a manual backup Job, a
DatabaseRestore, ``spec.suspend``. Imports ``api`` (the types and Job builders) and
``manager`` (the REST client and kubeconfig loading), never the operator's controllers.
"""
