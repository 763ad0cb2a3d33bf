"""Assembly of one DAG file: header, imports, the runtime sections the pipeline uses, the tables
they read, the request constants, then ``with DAG(...) as dag:`` with one task per step and
one ``>>`` per edge of the source graph."""

from __future__ import annotations

from pipeglot.backends import _python as pysource
from pipeglot.backends._python import Atom, Doc, Entry, Group, call, literal, statement
from pipeglot.backends._python.sharing import request_families, shared_strings
from pipeglot.backends.airflow.dag_arguments import common_arguments, dag_call, report_workflow
from pipeglot.backends.airflow.dispatch import CONFIG_KINDS, HANDLERS, SETUP_ROLES, UNSUPPORTED
from pipeglot.backends.airflow.emitter import Emitter
from pipeglot.backends.airflow.profiles import Profile
from pipeglot.backends.airflow.sections import READERS, runtime_names, runtime_sections
from pipeglot.backends.airflow.tasks import HelperTask, Task, placeholder_task
from pipeglot.diagnostics import Diagnostics
from pipeglot.ir.expressions import Value
from pipeglot.ir.model import MISSING, Step, Workflow


def write_dag_file(
    workflow: Workflow,
    diagnostics: Diagnostics,
    profile: Profile,
    source_command: str | None = None,
    emitter: Emitter | None = None,
) -> str:
    """The DAG file's text. Tasks are written first: they decide what the file imports and
    which runtime sections and tables it carries. ``emitter``, if given, is a new Emitter of
    these arguments (the caller reads its step graph afterwards)."""
    if emitter is None:
        emitter = Emitter(workflow, diagnostics, profile)
    _declare_setups(emitter)
    _share(emitter)
    constants: list[str] = []
    tasks: list[str] = []
    helper_edges: list[str] = []
    for name in emitter.order:
        step = workflow.step(name)
        emitter.current = step
        task = _task(emitter, step)
        variable = emitter.identifiers[name]
        for suffix, doc in task.constants:
            constants.append(statement(emitter.constant(name, suffix), doc))
        if task.setup:
            tasks.append(_helper_statement(task.setup))
        arguments = tuple([Entry(key, "=", doc) for key, doc in task.arguments.items()])
        tasks.append(statement(variable, Group(f"{task.operator}(", arguments, ")"), indent=1))
        if task.teardown:
            tasks.append(_helper_statement(task.teardown))
        if task.setup or task.teardown:
            helper_edges.extend(_helper_edges(task, variable))
    emitter.current = None
    report_workflow(emitter)
    dag = dag_call(emitter)
    builders = _builders(emitter)  # may name more references: before they are written
    tables = _tables(emitter)  # may need more sections: before the runtime is written
    body = [
        *runtime_sections(emitter.sections),
        *tables,
        *_shared_constants(emitter),
        *builders,
        *emitter.functions,
        *constants,
        "with "
        + pysource.render(dag, 0, len("with "), len(" as dag:"))
        + " as dag:\n"
        + "\n".join(tasks),
    ]
    # One blank line after the imports before a statement, two before a def or class (as
    # ruff's isort and formatter want); two between top-level blocks.
    after_imports = "\n\n\n" if body[0].startswith(("def ", "class ")) else "\n\n"
    text = _header(workflow, profile, source_command) + "\n\n" + _imports(emitter) + after_imports
    text += "\n\n\n".join(body)
    edges = "\n".join([*_edges(emitter), *helper_edges])
    if edges:
        text += "\n\n" + edges
    emitter.close()
    return pysource.mark_long_lines(text) + "\n"


def _share(emitter: Emitter) -> None:
    """Find what steps share (shared.py) before any task is written: request builders for the
    families of config-operator steps, constants for long strings that steps repeat."""
    emitter.families = request_families(emitter.workflow, CONFIG_KINDS, emitter.identifiers)
    emitter.share(shared_strings(emitter.workflow, emitter.families, set(runtime_names())))


def _shared_constants(emitter: Emitter) -> list[str]:
    """The strings several steps share, then the references that tasks read by name."""
    blocks = []
    if emitter.shared_names:
        lines = [_string_constant(name, text) for text, name in emitter.shared_names.items()]
        blocks.append("# Values that several steps share.\n" + "\n".join(lines))
    if emitter.references:
        lines = [
            # statement(name, doc), which for an Atom (most: xcom(...)) is its text
            f"{name} = {doc.flat}" if type(doc) is Atom else statement(name, doc)
            for name, doc in emitter.references.values()
        ]
        blocks.append(
            "# What tasks read from earlier steps (xcom: the result of the step's task) and from\n"
            "# the run (Get).\n" + "\n".join(lines)
        )
    return blocks


def _string_constant(name: str, text: str) -> str:
    """``NAME = "text"``; as ``ruff format`` writes it, the string goes in parentheses on a
    line of its own when that makes a too long line fit."""
    literal_text = pysource.string_literal(text)
    line = f"{name} = {literal_text}"
    if (
        len(line) <= pysource.LINE_LENGTH
        or len(pysource.INDENT + literal_text) > pysource.LINE_LENGTH
    ):
        return line
    return f"{name} = (\n{pysource.INDENT}{literal_text}\n)"


def _builders(emitter: Emitter) -> list[str]:
    """One function per used request family: the shared request, the steps' values as
    parameters."""
    written, texts = set(), []
    for family in emitter.families.values():
        if not family.used or family.function in written:
            continue
        written.add(family.function)
        for item in family.items:
            texts.append(_function(item.function, item.parameters, emitter.value(item.body)))
        body = emitter.value(family.body)
        if family.name_key is None:
            sent = call("resolved", body)
        else:
            extra = {"max_length": Atom(str(family.max_length))} if family.max_length != 63 else {}
            sent = call("request_with_job_name", body, literal(family.name_key), **extra)
        texts.append(_function(family.function, family.parameters, sent))
    return texts


def _function(name: str, parameters: tuple[str, ...], returned: Doc) -> str:
    """``def name(parameters):`` returning ``returned``."""
    signature = Group(f"def {name}(", tuple(map(Atom, parameters)), "):")
    body = pysource.render(returned, 1, len("return "))
    return f"{pysource.render(signature)}\n{pysource.INDENT}return {body}"


def _declare_setups(emitter: Emitter) -> None:
    """Name, before any task is written, the helpers that run before a step (see Task)."""
    for step in emitter.workflow.steps:
        roles = SETUP_ROLES.get(step.kind)
        role = roles(step) if roles else None
        if role is not None:
            emitter.declare_setup(step.name, role)


def _helper_statement(helper: HelperTask) -> str:
    arguments = {"task_id": literal(helper.ref.task_id), **helper.arguments}
    return statement(helper.ref.variable, call(helper.operator, **arguments), indent=1)


def _helper_edges(task: Task, variable: str) -> list[str]:
    """``setup >> step >> teardown``, the teardown marked as one (of the setup): it runs once
    the step is done, whatever its state, if the setup succeeded, and its own state does not
    decide the DAG run's (the step's does)."""
    indent = pysource.INDENT
    setup, teardown = task.setup, task.teardown
    lines = []
    if setup:
        lines.append(f"{indent}{setup.ref.variable} >> {variable}")
    if teardown:
        lines.append(f"{indent}{variable} >> {teardown.ref.variable}")
        setups = {"setups": Atom(setup.ref.variable)} if setup else {}
        lines.append(statement("", call(f"{teardown.ref.variable}.as_teardown", **setups), 1))
    return lines


def _task(emitter: Emitter, step: Step) -> Task:
    """The step's task from its handler (or a placeholder), with task_id and the arguments
    every task shares first."""
    handler = HANDLERS.get(step.kind)
    if handler is None:
        task = placeholder_task(emitter, step, UNSUPPORTED[step.kind])
    else:
        task = handler(emitter, step)
    arguments: dict[str, Doc] = {"task_id": literal(emitter.task_ids[step.name])}
    arguments.update(common_arguments(emitter, step))
    arguments.update(task.arguments)
    task.arguments = arguments
    return task


def _header(workflow: Workflow, profile: Profile, source_command: str | None) -> str:
    shown = pysource.safe_name(workflow.name or "pipeline")
    flag = " --airflow-version 2" if profile.version == "2" else ""
    fallback = f"pipeglot translate PIPELINE.json --to airflow{flag} -o DAG.py"
    command = source_command or f"pipeglot translate {shown}.json --to airflow{flag} -o {shown}.py"
    title = f"Airflow {profile.version} DAG translated by pipeglot from the SageMaker pipeline"
    return pysource.file_header(title, shown, command, fallback)


def _imports(emitter: Emitter) -> str:
    """The standard library block, then the Airflow block, as ruff's isort orders them."""
    names = emitter.names
    stdlib = {module: members for module, members in names.items() if "airflow" not in module}
    airflow = {module: members for module, members in names.items() if "airflow" in module}
    blocks = [
        pysource.import_block(emitter.modules, stdlib),
        pysource.import_block(set(), airflow),
    ]
    return "\n\n".join(block for block in blocks if block)


def _tables(emitter: Emitter) -> list[str]:
    """The tables the runtime sections read: EXPERIMENT_CONFIG, STEP_RESULTS, READERS."""
    tables = []
    if "experiment" in emitter.sections:
        tables.append(statement("EXPERIMENT_CONFIG", _experiment_config(emitter)))
    if "steps" in emitter.sections:
        results = Group(
            "{",
            tuple(
                [
                    _result_entry(step, task_id, kind)
                    for step, (task_id, kind) in sorted(emitter.step_results.items())
                ]
            ),
            "}",
        )
        tables.append(
            "# Each step that others read from: its task, and its SageMaker step type.\n"
            + statement("STEP_RESULTS", results)
        )
    if "get" in emitter.sections:
        functions = {root: function for root, (_, function) in READERS.items()}
        readers = tuple(
            pysource.Entry(pysource.string_literal(root), ": ", Atom(functions[root]))
            for root, (section, _) in READERS.items()
            if section in emitter.sections
        )
        tables.append(
            "# How Get reads each kind of reference.\n"
            + statement("READERS", Group("{", readers, "}"))
        )
    return tables


def _result_entry(step: str, task_id: str, kind: str) -> Doc | pysource.Entry:
    """``"Step": ("task id", "Type")`` in STEP_RESULTS: one Atom when it fits its line in the
    table (the Entry's flat text, which is what rendering the Entry gives there), else the
    Entry, whose pair breaks."""
    key = pysource.string_literal(step)
    if type(task_id) is str and type(kind) is str:
        text = f"{key}: ({pysource.string_literal(task_id)}, {pysource.string_literal(kind)})"
        if len(text) <= pysource.LINE_LENGTH - len(pysource.INDENT) - 1:
            return Atom(text)
    return pysource.Entry(key, ": ", Group("(", (literal(task_id), literal(kind)), ")"))


def _experiment_config(emitter: Emitter) -> Doc:
    """The names the pipeline sets; the runtime supplies SageMaker's defaults for the rest."""
    experiment: dict[str, Value] = {}
    config = emitter.workflow.experiment_config
    if config is not None and config.enabled:
        for key, value in (
            ("ExperimentName", config.experiment_name),
            ("TrialName", config.trial_name),
        ):
            if value is not MISSING:
                experiment[key] = value
    return emitter.value(experiment)


def _edges(emitter: Emitter) -> list[str]:
    """``a >> b`` or ``a >> [b, c]`` per task, over the drawn edges (see Emitter.successors):
    the transitive reduction, plus each Condition's edges into its branches. An edge into a
    step with a setup helper goes to the helper, which runs first."""
    lines = []
    entry, successors = emitter.entry_variable, emitter.successors
    for source in emitter.order:
        followers = successors(source)
        if not followers:
            continue
        targets = [entry(target) for target in followers]
        variable = emitter.identifiers[source]
        joined = targets[0] if len(targets) == 1 else f"[{', '.join(targets)}]"
        line = f"{pysource.INDENT}{variable} >> {joined}"
        if len(line) > pysource.LINE_LENGTH and len(targets) > 1:
            line = statement("", Group(f"{variable} >> [", tuple(map(Atom, targets)), "]"), 1)
        lines.append(line)
    return lines
