"""``python -m controller`` is the ``dbbackup-operator`` command."""

from controller.cli import main

raise SystemExit(main())
