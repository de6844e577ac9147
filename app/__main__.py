"""``python -m app`` is the ``dbbackup-operator`` command."""

from app.cli import main

raise SystemExit(main())
