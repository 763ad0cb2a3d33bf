"""``python -m pipeglot``: the same CLI as the ``pipeglot`` command."""

from __future__ import annotations

import sys

from pipeglot.cli import main

sys.exit(main())
