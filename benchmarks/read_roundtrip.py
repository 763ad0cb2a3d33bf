"""How exactly pipeglot's own outputs read back: ``sagemaker -> X -> sagemaker`` per target.

For every corpus pipeline and each target, the source is written, read back with the target's
reader and compared field by field (``pipeglot.frontends._readers.fidelity``). Prints, per
target, how many pipelines are equal as a whole, how many differ in each field, and the first
difference of each field.

    python benchmarks/read_roundtrip.py [--to asl airflow kfp-yaml] [--no-provenance]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

import pipeglot
from pipeglot.frontends._readers.fidelity import FIELDS, differences

CORPUS = Path(os.environ.get("PIPEGLOT_CORPUS", Path(__file__).parents[2] / "shared/corpus"))
TARGETS = ("asl", "airflow", "kfp-yaml")


def corpus() -> list[Path]:
    folder = CORPUS / "sagemaker" if (CORPUS / "sagemaker").is_dir() else CORPUS
    return sorted(folder.glob("*.json")) + sorted(folder.glob("synthetic/*.json"))


def measure(target: str, files: list[Path], options: dict[str, object]) -> None:
    per_field: Counter[str] = Counter()
    first: dict[str, str] = {}
    equal = as_text = 0
    start = time.perf_counter()
    for path in files:
        source = pipeglot.load(path.read_bytes(), name=path.stem)
        text = pipeglot.dump(source, write=target, unsupported="ignore", **options)
        back = pipeglot.load(text, read=target, unsupported="ignore", name=path.stem)
        found = differences(source, back)
        equal += not found
        as_text += not differences(source, back, join_text=True)
        for field in {difference.field for difference in found}:
            per_field[field] += 1
        for difference in found:
            first.setdefault(difference.field, f"{path.name}: {difference.format()}")
    seconds = time.perf_counter() - start
    print(
        f"\n{target}: {equal}/{len(files)} equal as a whole, {as_text} with Std:Join compared "
        f"as the text it gives and JsonGet paths as the field they read ({seconds:.1f} s)"
    )
    for field in FIELDS:
        if per_field[field]:
            print(f"  {field:18} {per_field[field]:3}  {first[field]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", nargs="+", default=list(TARGETS))
    parser.add_argument("--no-provenance", action="store_true")
    arguments = parser.parse_args()
    options: dict[str, object] = {"provenance": False} if arguments.no_provenance else {}
    files = corpus()
    for target in arguments.to:
        measure(target, files, options)


if __name__ == "__main__":
    main()
