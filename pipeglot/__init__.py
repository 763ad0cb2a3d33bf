"""pipeglot: translate ML workflow definitions between orchestrators.

import pipeglot
workflow = pipeglot.load(text, read="sagemaker")
text = pipeglot.dump(workflow, write="sagemaker")
text = pipeglot.translate(text, read="sagemaker", write="sagemaker")
"""

from __future__ import annotations

from pipeglot.api import dump, load, translate
from pipeglot.diagnostics import Diagnostic, Diagnostics, Fidelity, UnsupportedLevel
from pipeglot.errors import (
    InputError,
    PipeglotError,
    UnsupportedError,
    UsageError,
    ValidationError,
)

__all__ = [
    "Diagnostic",
    "Diagnostics",
    "Fidelity",
    "InputError",
    "PipeglotError",
    "UnsupportedError",
    "UnsupportedLevel",
    "UsageError",
    "ValidationError",
    "dump",
    "load",
    "translate",
]
