"""One ``components`` entry and one executor for the tasks that run the same component.

kfp's compiler gives every task a component of its own and an executor of its own, copies of
one another when the tasks call one reusable component: ``comp-processing-job``,
``comp-processing-job-2``... each with the same inputs, and ``exec-processing-job``,
``exec-processing-job-2``... each with the component's whole Python source. The pipeline spec
does not need the copies: a task names its component (``componentRef.name``) and a component
names its executor (``executorLabel``), so many tasks can name one (kfp's local runner and the
KFP backend look both up by name). This pass keeps one entry for each distinct content, under
the name that sorts first among its copies (kfp's own name for the first task, the one without
a ``-N`` index), and points every reference at it. Entries are compared whole (a task's
resources, image or environment make its executor different, so it keeps its own), and DAG
components (the condition and loop groups) are left as they are, since each holds other tasks.

It works on kfp's ``PipelineSpec`` message: ``share_components`` on a whole spec, and
``TaskSharing`` task by task while kfp builds it (so kfp's lists of names stay short). Executors
that a platform spec (kfp-kubernetes settings) refers to by label keep their own entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any


def share_components(pipeline_spec: Any, platform_spec: Any = None) -> None:
    """Merge identical executors, then identical executor components, in ``pipeline_spec``."""
    executor_names = _share_executors(pipeline_spec, _platform_labels(platform_spec))
    for component in pipeline_spec.components.values():
        if component.executor_label:
            component.executor_label = executor_names.get(
                component.executor_label, component.executor_label
            )
    component_names = _share_executor_components(pipeline_spec)
    for task in _all_tasks(pipeline_spec):
        task.component_ref.name = component_names.get(
            task.component_ref.name, task.component_ref.name
        )


class TaskSharing:
    """Shares one task's component and executor with an earlier task's identical ones, as kfp
    adds them: the first of each content keeps its entry and name, a copy is deleted and its
    references point at the first (its name is free again for kfp's next task)."""

    def __init__(self, pipeline_spec: Any, deployment_config: Any) -> None:
        self.pipeline_spec, self.deployment_config = pipeline_spec, deployment_config
        self.executors: dict[bytes, str] = {}  # content -> kept label
        self.components: dict[bytes, str] = {}  # content -> kept name

    def share(self, task_spec: Any) -> None:
        """Share the entries of ``task_spec`` (a task of a DAG, with its entries complete)."""
        component = self.pipeline_spec.components[task_spec.component_ref.name]
        if not component.executor_label:  # a DAG component: it holds tasks of its own
            return
        executors = self.deployment_config.executors
        label = component.executor_label
        kept = self.executors.setdefault(_content(executors[label]), label)
        if kept != label:
            del executors[label]
            component.executor_label = kept
        name = task_spec.component_ref.name
        kept = self.components.setdefault(_content(component), name)
        if kept != name:
            del self.pipeline_spec.components[name]
            task_spec.component_ref.name = kept


def _content(message: Any) -> bytes:
    return message.SerializeToString(deterministic=True)


def _share_executors(pipeline_spec: Any, keep: set[str]) -> dict[str, str]:
    """Drop duplicate executors; returns each dropped label's kept label."""
    if "executors" not in pipeline_spec.deployment_spec:
        return {}
    executors = pipeline_spec.deployment_spec["executors"]
    contents = {label: executors[label] for label in executors if label not in keep}
    renamed = _duplicates(contents)
    for label in renamed:
        del executors[label]
    return renamed


def _share_executor_components(pipeline_spec: Any) -> dict[str, str]:
    """Drop duplicate components that run an executor; returns dropped name -> kept name."""
    components = pipeline_spec.components
    contents = {name: spec for name, spec in components.items() if spec.executor_label}
    renamed = _duplicates(contents)
    for name in renamed:
        del components[name]
    return renamed


def _duplicates(messages: dict[str, Any]) -> dict[str, str]:
    """Each name whose message equals an earlier-sorting one's, mapped to the first such name."""
    by_content: dict[bytes, list[str]] = defaultdict(list)
    for name, message in messages.items():
        by_content[_content(message)].append(name)
    renamed = {}
    for names in by_content.values():
        kept, *copies = sorted(names)
        renamed.update(dict.fromkeys(copies, kept))
    return renamed


def _all_tasks(pipeline_spec: Any) -> Iterator[Any]:
    """Every task of the spec: the root DAG's and those of the DAG components."""
    dags = [pipeline_spec.root, *pipeline_spec.components.values()]
    for component in dags:
        if component.HasField("dag"):
            yield from component.dag.tasks.values()


def _platform_labels(platform_spec: Any) -> set[str]:
    """Executor labels that a platform spec configures (they keep their own entries)."""
    if platform_spec is None:
        return set()
    return set(_labels_in(platform_spec.platforms.values()))


def _labels_in(platforms: Iterable[Any]) -> Iterator[str]:
    for platform in platforms:
        yield from platform.deployment_spec.executors.keys()
