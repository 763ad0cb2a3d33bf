"""The Kubeflow targets at scale: file shape, compile time and spec size against pipeline size.

For each size, the same generated definition (``generate.py``: steps that share image, role and
cluster) is translated with ``--to kfp`` and ``--to kfp-yaml`` (the kfp file compiled by the
real kfp compiler), each timed as the best of several runs, next to a plain JSON round trip of
the definition. Reported per size: lines of the kfp file per step, the ratios kfp / JSON round
trip and kfp-yaml / kfp, the compiled spec's bytes per step (and what it would be with kfp's
copy of each component per task), and Python calls per step of both (a machine-independent
measure of linearity: constant across sizes means linear). ``yaml_s`` is the kfp file compiled;
``cpu_yaml_vs_kfp`` the same ratio in processor time (steadier on a shared machine);
``translate_vs_kfp`` is the whole ``--to kfp-yaml`` with its provenance block (issue 15).

    python benchmarks/kfp_scale.py [--sizes 100,200,400,800] [--repeat N] [--no-yaml]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from generate import pipeline
from run import best_time, calls_per_step, slope

import pipeglot
from pipeglot.backends.kfp.compiled import compile_source

DEFAULT_SIZES = (100, 200, 400, 800)


def measure(size: int, repeat: int, with_yaml: bool) -> dict[str, float]:
    text = json.dumps(pipeline(size), indent=2)
    baseline = best_time(lambda: json.dumps(json.loads(text)), repeat)
    source = pipeglot.translate(text, write="kfp", unsupported="ignore")
    kfp = best_time(lambda: pipeglot.translate(text, write="kfp", unsupported="ignore"), repeat)
    row = {
        "steps": size,
        "lines_per_step": len(source.splitlines()) / size,
        "kfp_s": kfp,
        "kfp_vs_json": kfp / baseline,
        "calls_per_step": calls_per_step(
            lambda: pipeglot.translate(text, write="kfp", unsupported="ignore"), size
        ),
    }
    if with_yaml:
        row.update(_yaml_row(text, size, repeat, kfp, source))
    return row


def _yaml_row(text: str, size: int, repeat: int, kfp: float, source: str) -> dict[str, float]:
    """kfp-yaml's figures: the kfp file compiled (what ``--to kfp-yaml`` does before it attaches
    issue 15's provenance block), and the whole translation as a user runs it, timed once."""

    def action() -> str:
        return compile_source(pipeglot.translate(text, write="kfp", unsupported="ignore"))

    def kfp_action() -> str:
        return pipeglot.translate(text, write="kfp", unsupported="ignore")

    spec = action()
    yaml_time = best_time(action, repeat)
    whole = best_time(lambda: pipeglot.translate(text, write="kfp-yaml", unsupported="ignore"), 1)
    return {
        "yaml_s": yaml_time,
        "yaml_vs_kfp": yaml_time / kfp,
        "cpu_yaml_vs_kfp": _cpu_ratio(action, kfp_action, repeat),
        "translate_vs_kfp": whole / kfp,
        "spec_bytes_per_step": len(spec) / size,
        "unshared_bytes_step": len(compile_source(source, share=False)) / size,
        "yaml_calls_per_step": calls_per_step(action, size),
    }


def _cpu_ratio(action: Callable[[], object], baseline: Callable[[], object], repeat: int) -> float:
    """The best processor time of ``action`` over the best of ``baseline``, run in turns: on a
    shared machine, what other processes take moves wall-clock figures far more than this."""
    best = {action: math.inf, baseline: math.inf}
    for _ in range(repeat):
        for run in best:
            start = time.process_time()
            run()
            best[run] = min(best[run], time.process_time() - start)
    return best[action] / best[baseline]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-yaml", action="store_true", help="skip --to kfp-yaml")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = [measure(size, args.repeat, not args.no_yaml) for size in sizes]
    columns = [key for key in rows[0] if key != "steps"]
    print(f"{'steps':>6} " + " ".join(f"{c:>19}" for c in columns))
    for row in rows:
        print(f"{row['steps']:>6} " + " ".join(f"{row[c]:>19.2f}" for c in columns))
    for key in ("kfp_s", "yaml_s"):
        if key in rows[0] and len(rows) > 1:
            times = [row[key] for row in rows]
            print(f"scaling exponent of {key}: {slope(sizes, times):.2f} (1.0 is linear)")


if __name__ == "__main__":
    main()
