"""The operator's controllers: the DatabaseBackup and DatabaseRestore reconcilers, their parts."""
