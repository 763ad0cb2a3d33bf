"""Property-based round trip: for generated workflows, load(dump(w)) == w.

The strategies build valid workflows directly in the IR: step trees flattened in document
order (a Condition, then its branch steps), references only to steps earlier in that order
(so the graph is acyclic), every expression and condition form, and the optional keys in all
their states (absent, null, empty, present).
"""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pipeglot
from pipeglot.ir import (
    MISSING,
    Attribute,
    CacheConfig,
    Comparison,
    ComparisonOperator,
    ExecutionVariable,
    ExperimentConfig,
    ExperimentConfigRef,
    In,
    Index,
    Join,
    JsonGet,
    Key,
    Not,
    Or,
    OutputParameter,
    Parameter,
    ParameterRef,
    ParameterType,
    PropertyFile,
    PropertyFileRef,
    RetryPolicy,
    Step,
    StepKind,
    StepProperty,
    Workflow,
)
from pipeglot.ir.expressions import EXECUTION_VARIABLES, EXPRESSION_KEYS
from pipeglot.ir.model import CHECK_KEYS, KIND_OF_TYPE

NAME_CHARS = string.ascii_letters + string.digits + "-_"
names = st.text(NAME_CHARS, min_size=1, max_size=12)
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)


def _not_an_expression(obj: dict) -> bool:
    return not (len(obj) == 1 and next(iter(obj)) in EXPRESSION_KEYS)


def json_values(leaves: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(texts, inner, max_size=3).filter(_not_an_expression)
        ),
        max_leaves=8,
    )


def path_parts() -> st.SearchStrategy:
    attribute = st.builds(
        Attribute, st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=8)
    )
    attribute = attribute.filter(lambda a: a.name != "PropertyFiles")
    key = st.builds(
        Key, st.text(st.characters(exclude_categories=("Cs",), exclude_characters="'"), max_size=8)
    )
    return st.lists(attribute | st.builds(Index, st.integers(0, 99)) | key, min_size=1, max_size=4)


class Context:
    """What expressions in the step being generated may refer to."""

    def __init__(self, parameters: list[str], earlier: list[Step]):
        self.parameters = parameters
        self.earlier = earlier


def expressions(ctx: Context) -> st.SearchStrategy:
    gets = [
        st.builds(ExecutionVariable, st.sampled_from(sorted(EXECUTION_VARIABLES))),
        st.builds(ExperimentConfigRef, st.sampled_from(["ExperimentName", "TrialName"])),
    ]
    if ctx.parameters:
        gets.append(st.builds(ParameterRef, st.sampled_from(ctx.parameters)))
    if ctx.earlier:
        steps = st.sampled_from([s.name for s in ctx.earlier])
        gets.append(st.builds(lambda s, p: StepProperty(s, tuple(p)), steps, path_parts()))
    get = st.one_of(gets)
    files = [PropertyFileRef(s.name, f.name) for s in ctx.earlier for f in s.property_files or ()]
    simple = scalars | get
    join = st.builds(
        lambda on, values: Join(on, tuple(values)), texts, st.lists(simple, max_size=3)
    )
    json_get = st.builds(lambda path, uri: JsonGet(path, s3_uri=uri), texts, join | get)
    if files:
        json_get |= st.builds(
            lambda path, f: JsonGet(path, property_file=f), texts, st.sampled_from(files)
        )
    return get | join | json_get


def values(ctx: Context) -> st.SearchStrategy:
    return json_values(scalars | expressions(ctx))


def conditions(ctx: Context) -> st.SearchStrategy:
    operand = scalars | expressions(ctx)
    base = st.builds(
        Comparison, st.sampled_from(list(ComparisonOperator)), operand, operand
    ) | st.builds(lambda q, vs: In(q, tuple(vs)), operand, st.lists(operand, max_size=3))
    return st.recursive(
        base,
        lambda inner: (
            st.builds(Not, inner) | st.builds(lambda cs: Or(tuple(cs)), st.lists(inner, max_size=3))
        ),
        max_leaves=4,
    )


def maybe(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.just(MISSING) | strategy


def optional_tuple(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | st.lists(strategy, max_size=2).map(tuple)


def extras(known: tuple[str, ...], leaves: st.SearchStrategy) -> st.SearchStrategy:
    keys = st.text(string.ascii_letters, min_size=1, max_size=8).filter(lambda k: k not in known)
    return st.dictionaries(keys, json_values(leaves), max_size=2)


STEP_KEYS = (
    *("Name", "Type", "Arguments", "DependsOn", "DisplayName", "Description", "CacheConfig"),
    *("RetryPolicies", "PropertyFiles", "FunctionArn", "SqsQueueUrl", "OutputParameters"),
)
TYPE_NAMES = [t for t in KIND_OF_TYPE if t != "Condition"] + ["BedrockModelImport"]


@st.composite
def job_step(draw: st.DrawFn, name: str, ctx: Context) -> Step:
    type_name = draw(st.sampled_from(TYPE_NAMES))
    kind = KIND_OF_TYPE.get(type_name, StepKind.UNKNOWN)
    value = values(ctx)
    is_check = type_name in ("QualityCheck", "ClarifyCheck")
    return Step(
        name=name,
        kind=kind,
        type_name=type_name,
        arguments=draw(maybe(st.dictionaries(texts, value, max_size=3).filter(_not_an_expression))),
        depends_on=draw(
            st.none()
            | st.lists(st.sampled_from([s.name for s in ctx.earlier]), max_size=2).map(tuple)
        )
        if ctx.earlier
        else None,
        display_name=draw(maybe(texts)),
        description=draw(maybe(texts)),
        cache_config=draw(
            st.none()
            | st.builds(
                lambda e, x: CacheConfig(enabled=e, expire_after=x),
                st.booleans(),
                maybe(st.sampled_from(["30d", "PT1H"])),
            )
        ),
        retry_policies=draw(
            optional_tuple(
                st.builds(
                    lambda t, n, b: RetryPolicy(
                        exception_types=tuple(t), max_attempts=n, backoff_rate=b
                    ),
                    st.lists(
                        st.sampled_from(["Step.THROTTLING", "SageMaker.CAPACITY_ERROR"]), max_size=2
                    ),
                    maybe(st.integers(1, 20)),
                    maybe(st.sampled_from([2, 2.0, 1.5])),
                )
            )
        ),
        property_files=draw(
            optional_tuple(
                st.builds(
                    lambda n: PropertyFile(name=n, output_name="evaluation", file_path="e.json"),
                    names,
                )
            )
        ),
        # Required where SageMaker requires them (the reader rejects their absence).
        function_arn=draw(value if kind is StepKind.LAMBDA else maybe(value)),
        sqs_queue_url=draw(texts if kind is StepKind.CALLBACK else maybe(texts)),
        output_parameters=draw(
            optional_tuple(
                st.builds(
                    lambda n, t: OutputParameter(name=n, type=t),
                    names,
                    maybe(st.sampled_from(["String", "Float"])),
                )
            )
        ),
        check=draw(st.dictionaries(st.sampled_from(CHECK_KEYS), value, max_size=3))
        if is_check
        else {},
        extra=draw(
            extras(STEP_KEYS + (CHECK_KEYS if is_check else ()), scalars | expressions(ctx))
        ),
    )


@st.composite
def workflows(draw: st.DrawFn) -> Workflow:
    parameters = draw(st.lists(parameters_strategy(), max_size=4, unique_by=lambda p: p.name))
    ctx = Context([p.name for p in parameters], [])
    step_names = iter(draw(st.lists(names, min_size=1, max_size=8, unique=True)))
    steps: list[Step] = []

    def add_steps(budget: int, depth: int) -> list[str]:
        added = []
        for name in step_names:
            if depth < 2 and draw(st.integers(0, 4)) == 0:
                added.append(add_condition(name, depth))
            else:
                step = draw(job_step(name, ctx))
                steps.append(step)
                if step.kind is not StepKind.FAIL:  # nothing may depend on a Fail step
                    ctx.earlier.append(step)
                added.append(name)
            if len(added) >= budget:
                break
        return added

    def add_condition(name: str, depth: int) -> str:
        index = len(steps)
        steps.append(None)  # type: ignore[arg-type]  # the Condition precedes its branch steps
        conds = tuple(draw(st.lists(conditions(ctx), min_size=1, max_size=2)))
        if_steps = add_steps(draw(st.integers(0, 2)), depth + 1)
        else_steps = add_steps(draw(st.integers(0, 2)), depth + 1)
        steps[index] = Step(
            name=name,
            kind=StepKind.CONDITION,
            type_name="Condition",
            arguments={},
            conditions=conds,
            if_steps=tuple(if_steps),
            else_steps=tuple(else_steps),
        )
        return name

    add_steps(8, 0)
    experiment = draw(
        st.none()
        | st.just(ExperimentConfig(enabled=False))
        | st.builds(
            lambda e, t: ExperimentConfig(experiment_name=e, trial_name=t),
            maybe(texts),
            maybe(expressions(Context([], []))),
        )
    )
    return Workflow(
        steps=tuple(steps),
        version=draw(st.sampled_from(["2020-12-01", None])),
        parameters=tuple(parameters) if parameters or draw(st.booleans()) else None,
        metadata=draw(maybe(st.dictionaries(texts, texts, max_size=2))),
        experiment_config=experiment,
        mlflow_config=draw(maybe(st.none() | st.fixed_dictionaries({"MlflowResourceArn": texts}))),
        extra=draw(
            extras(
                (
                    "Version",
                    "Metadata",
                    "Parameters",
                    "PipelineExperimentConfig",
                    "MlflowConfig",
                    "Steps",
                ),
                scalars,
            )
        ),
    )


@st.composite
def parameters_strategy(draw: st.DrawFn) -> Parameter:
    kind = draw(st.sampled_from(list(ParameterType)))
    default = {
        ParameterType.STRING: texts,
        ParameterType.INTEGER: st.integers(-(2**40), 2**40),
        ParameterType.FLOAT: st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 9),
        ParameterType.BOOLEAN: st.booleans(),
    }[kind]
    value = draw(maybe(default))
    enum_values = None
    if kind is ParameterType.STRING and draw(st.booleans()):
        enum_values = tuple(draw(st.lists(texts, min_size=1, max_size=3, unique=True)))
        if value is not MISSING:
            enum_values = (*enum_values, value) if value not in enum_values else enum_values
    return Parameter(
        name=draw(names),
        type=kind,
        default=value,
        enum_values=enum_values,
        type_declared=kind is not ParameterType.STRING or draw(st.booleans()),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_load_of_dump_gives_the_same_workflow(workflow: Workflow) -> None:
    pipeglot.ir.validate(workflow)  # the strategy builds valid workflows only
    text = pipeglot.dump(workflow, write="sagemaker")
    assert pipeglot.load(text, read="sagemaker") == workflow
    assert pipeglot.dump(pipeglot.load(text, read="sagemaker"), write="sagemaker") == text
