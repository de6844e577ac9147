"""``python -m runner``: the same as the ``dbbackup-runner`` console script."""

from __future__ import annotations

import sys

from runner.entry import main

sys.exit(main())
