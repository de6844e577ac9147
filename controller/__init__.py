"""The DatabaseBackup controller and the ``dbbackup-operator`` command (the composition root)."""
