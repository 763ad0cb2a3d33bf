"""Steps that steer the run rather than start work: Condition (a branch) and Fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeglot.backends._python import INDENT, LINE_LENGTH, Atom, Doc, Group, call, literal, render
from pipeglot.backends.airflow.predicates import predicate
from pipeglot.backends.airflow.tasks import Task, step_arguments
from pipeglot.ir.expressions import condition_to_json
from pipeglot.ir.model import Step

if TYPE_CHECKING:
    from pipeglot.backends.airflow.emitter import Emitter


def condition(emitter: Emitter, step: Step) -> Task:
    """A branch task: it returns the task ids of the branch the conditions choose, so Airflow
    skips the other branch and, through the default trigger rule, everything after it. The
    conditions are a plain Python function of their resolved operands (predicates.py) where
    its body fits on one line, else SageMaker's JSON form, evaluated by ``holds``."""
    emitter.need("conditions")
    emitter.use_python_operator("BranchPythonOperator")
    arguments: dict[str, Doc] = {
        "if_steps": literal([emitter.entry_task_id(name) for name in step.if_steps]),
        "else_steps": literal([emitter.entry_task_id(name) for name in step.else_steps]),
    }
    always = _followers_outside_branches(emitter, step)
    if always:
        arguments["always"] = literal(always)
    if step_arguments(step):
        emitter.diagnostics.dropped(
            "airflow.condition_arguments",
            f"Condition arguments {', '.join(step_arguments(step))} are not translated",
            step.name,
        )
    written = predicate(step.conditions)
    returned = written.returned(INDENT, LINE_LENGTH) if written is not None else None
    if written is not None and returned is not None:
        function = emitter.identifiers.helper(f"{step.name}_holds")
        signature = Group(f"def {function}(", tuple(map(Atom, written.parameters)), "):")
        emitter.functions.append(f"{render(signature)}\n{returned}")
        if written.helpers:  # equal() or among(): SageMaker's equality
            emitter.need("equality")
        operands = emitter.value(written.operands)
        chooser = call("branch_on", Atom(function), operands, **arguments)
        return Task("BranchPythonOperator", {"python_callable": chooser})
    emitter.need("condition_json")
    constant = emitter.constant(step.name, "CONDITIONS")
    conditions = [condition_to_json(each) for each in step.conditions]
    return Task(
        "BranchPythonOperator",
        {"python_callable": call("branch", Atom(constant), **arguments)},
        constants=[("CONDITIONS", emitter.value(conditions))],
    )


def _followers_outside_branches(emitter: Emitter, step: Step) -> list[str]:
    """Tasks after the Condition that are in neither branch (they read its Outcome, or depend
    on it): a branch operator skips every follower it does not return, so it returns these."""
    branches = {*step.if_steps, *step.else_steps}
    followers = (name for name in emitter.successors(step.name) if name not in branches)
    return [emitter.entry_task_id(name) for name in followers]


def fail(emitter: Emitter, step: Step) -> Task:
    emitter.need("fail")
    emitter.use_python_operator()
    message = step.error_message if step.error_message is not None else ""
    emitter.diagnostics.approximated(
        "airflow.fail",
        "Fail: the task fails the DAG run with the message; steps that do not depend on it "
        "may still start, where SageMaker starts no new steps",
        step.name,
    )
    return Task("PythonOperator", {"python_callable": call("fail_with", emitter.value(message))})
