"""Load one DAG file in a real Airflow and print its operators' configs as JSON.

Run by the airflow reader's DagBag mode as ``python dagbag_probe.py FOLDER`` in an interpreter
that has Airflow (it may not have pipeglot, so this file imports only Airflow and the standard
library). The configs are what the file's code built at parse time, before Jinja renders them:
the templates stay text, as they are in the file. A value JSON cannot hold (an XComArg, an
object) is printed as ``{"__pipeglot_opaque__": "<its type>"}`` for the reader to report.
"""

from __future__ import annotations

import json
import sys

OPAQUE = "__pipeglot_opaque__"


def plain(value: object) -> object:
    """``value`` as JSON data; anything else as an opaque marker naming its type."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return {OPAQUE: type(value).__name__}


def main(folder: str) -> int:
    try:
        from airflow.models import DagBag
    except ImportError as error:
        print(json.dumps({"no_airflow": str(error)}))
        return 0
    bag = DagBag(dag_folder=folder)
    tasks = {
        task.task_id: plain(task.config)
        for dag in bag.dags.values()
        for task in dag.tasks
        if hasattr(task, "config")
    }
    errors = {str(path): str(message) for path, message in bag.import_errors.items()}
    print(json.dumps({"dags": sorted(bag.dags), "import_errors": errors, "configs": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
