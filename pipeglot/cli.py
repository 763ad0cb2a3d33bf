"""The command line: ``pipeglot translate | validate | inspect | formats``.

Exit codes: 0 success, 1 ``--check`` found stale output (and nothing else), 2 invalid input
or usage (or an output that cannot be written), 3 unsupported constructs, 4 an internal error:
a bug, reported in one line that asks for a report (``PIPEGLOT_DEBUG=1`` adds the traceback).
Bad input never shows a traceback and never leaves an output file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeglot import schedule_options
from pipeglot.api import dump, load
from pipeglot.backend import SOURCE_COMMAND
from pipeglot.backend import options as backend_options
from pipeglot.diagnostics import Diagnostics, Fidelity, UnsupportedLevel
from pipeglot.errors import InputError, InternalError, PipeglotError, UsageError
from pipeglot.files import (
    DEFAULT_MAX_INPUT_MB,
    read_input,
    read_text_if_exists,
    write_all_atomic,
    write_atomic,
)
from pipeglot.formats import READERS, WRITERS, infer_reader, reader, writer, writer_options
from pipeglot.ir.graph import build_graph, edges, topological_order
from pipeglot.ir.model import MISSING, Workflow

EXIT_STALE = 1


@dataclass(frozen=True, slots=True)
class _Job:
    """One input to translate, and where its output goes (None: standard output)."""

    source: str  # a path, '-', or a reference the frontend resolves itself
    label: str  # how messages name the input
    read: str
    output: Path | None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    with _terminate_as_exception():
        try:
            args = _parser().parse_args(argv)
            args.argv = argv
            return int(args.handler(args))
        except PipeglotError as error:
            _say("error", str(error))
            _debug(error)
            return error.exit_code
        except KeyboardInterrupt:
            return 130
        except _Terminated:
            return 128 + signal.SIGTERM
        except BrokenPipeError:  # `pipeglot ... | head`: the reader left, nothing to report
            _silence_stdout()
            return 128 + signal.SIGPIPE
        except Exception as error:  # a bug; InputError and friends were handled above
            internal = InternalError(f"running {shlex.join(['pipeglot', *argv[:1]])}", error)
            _say("error", str(internal))
            _debug(error)
            return internal.exit_code


class _Terminated(BaseException):
    """SIGTERM, raised where the program is, so that open temporary files are removed."""


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return

    def terminate(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _debug(error: BaseException) -> None:
    """With PIPEGLOT_DEBUG=1, the traceback a bug report needs."""
    if os.environ.get("PIPEGLOT_DEBUG") == "1":
        traceback.print_exception(error.__cause__ or error, file=sys.stderr)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pipeglot",
        description="Translate ML workflow definitions between orchestrators.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    translate = commands.add_parser("translate", help="translate a workflow to another format")
    translate.add_argument(
        "input", metavar="INPUT", help="a file, a folder of files, or - for stdin"
    )
    translate.add_argument("--to", required=True, metavar="FORMAT", help=_names(WRITERS))
    _add_from(translate)
    translate.add_argument(
        "-o", "--output", type=Path, help="output file (a folder when INPUT is a folder)"
    )
    translate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name the outputs that differ from the translation",
    )
    translate.add_argument(
        "--unsupported",
        default="error",
        choices=[level.value for level in UnsupportedLevel],
        help="an inexpressible construct fails the run (error, exit 3) or becomes a visible "
        "placeholder (warn: reported on stderr; ignore: not reported). Default: error",
    )
    translate.add_argument("--name", help="pipeline name (default: the input file's name)")
    _add_writer_options(translate)
    schedule_options.add_arguments(translate)
    translate.set_defaults(handler=_translate)

    validate = commands.add_parser("validate", help="check that a workflow definition is valid")
    validate.add_argument("input", metavar="INPUT")
    _add_from(validate)
    schedule_options.add_arguments(validate)
    validate.set_defaults(handler=_validate)

    inspect = commands.add_parser("inspect", help="list a workflow's parameters, steps and edges")
    inspect.add_argument("input", metavar="INPUT")
    _add_from(inspect)
    inspect.add_argument("--format", choices=["text", "json"], default="text")
    schedule_options.add_arguments(inspect)
    inspect.set_defaults(handler=_inspect)

    deploy = commands.add_parser(
        "deploy", help="translate a workflow and create or update it in AWS (idempotent)"
    )
    deploy.add_argument("input", metavar="INPUT", help="a file, sagemaker://NAME, or a script")
    deploy.add_argument("--to", required=True, choices=["stepfunctions", "sagemaker"])
    deploy.add_argument("--name", required=True, help="the state machine's or pipeline's name")
    deploy.add_argument("--role-arn", required=True, help="the IAM role it runs as")
    deploy.add_argument("--region", help="AWS region (default: from the AWS configuration)")
    deploy.add_argument(
        "--dry-run",
        action="store_true",
        help="look up what exists, print the create or update request, send nothing",
    )
    deploy.add_argument(
        "--unsupported", default="error", choices=[level.value for level in UnsupportedLevel]
    )
    [lowering] = [o for o in backend_options(writer("asl")) if o.name == "dag_lowering"]
    deploy.add_argument(
        lowering.flag,
        choices=lowering.choices,
        help=f"with --to stepfunctions: {lowering.help} (exact: its runner machine is created "
        f"first, as NAME-Runner). Default: {lowering.default}",
    )
    _add_from(deploy)
    deploy.set_defaults(handler=_deploy)

    _add_comparison_commands(commands)

    formats = commands.add_parser("formats", help="list the input and output formats")
    formats.set_defaults(handler=_formats)
    return parser


def _add_from(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="read",
        metavar="FORMAT",
        help=f"input format (default: inferred from INPUT). {_names(READERS)}",
    )
    parser.add_argument(
        "--max-input-mb",
        type=_positive_number,
        default=DEFAULT_MAX_INPUT_MB,
        metavar="MB",
        help=f"refuse input files larger than this (default: {DEFAULT_MAX_INPUT_MB} MB)",
    )
    _add_script_options(parser)


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("give a positive number of megabytes")
    return value


def _add_script_options(parser: argparse.ArgumentParser) -> None:
    """Options of inputs that run code (sagemaker-python): passed to the frontend when given."""
    group = parser.add_argument_group("SageMaker SDK scripts (sagemaker-python)")
    group.add_argument(
        "--kwargs",
        type=_json_object,
        metavar="JSON",
        help="keyword arguments (a JSON object) for the function that builds the pipeline",
    )
    group.add_argument(
        "--online",
        action="store_true",
        default=None,
        help="let the script call AWS with your credentials (default: offline, answered by moto)",
    )
    group.add_argument(
        "--python",
        metavar="PATH",
        help="the Python that runs the script, e.g. a venv with sagemaker<3 (default: this one)",
    )
    group.add_argument(
        "--load-with-dagbag",
        action="store_true",
        default=None,
        help="airflow inputs: also import the DAG file in Airflow (DagBag, in --python) and read "
        "the configs its code builds",
    )
    group.add_argument(
        "--cwd",
        metavar="DIR",
        help="the script's working directory (default: the script's folder; for a module "
        "reference, the current one)",
    )
    group.add_argument(
        "--assets",
        metavar="DIR",
        help="write the files the script uploaded offline under DIR, in the layout of their "
        "S3 keys (sync DIR to the bucket to deploy the translation)",
    )
    group.add_argument(
        "--bucket",
        metavar="NAME",
        help="the S3 bucket the SDK uploads to and the output points at "
        "(default: the SDK's default bucket of the offline account)",
    )


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not valid JSON ({error.msg})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError('give a JSON object, e.g. \'{"region": "us-east-1"}\'')
    return value


def _names(table: dict[str, Any]) -> str:
    return "One of: " + ", ".join(table)


# --- translate ------------------------------------------------------------------------------


def _translate(args: argparse.Namespace) -> int:
    writer(args.to)  # an unknown format is a usage error before any input is read
    level = UnsupportedLevel.parse(args.unsupported)
    jobs = _jobs(args)
    outputs: list[tuple[_Job, str]] = []
    args.pending_files = {}  # files an input brings besides its translation (--assets)
    for job in jobs:
        ledger = Diagnostics()  # one ledger for reading and writing (readers of other formats)
        workflow = _load(job, name=args.name if len(jobs) == 1 else None, args=args, ledger=ledger)
        outputs.append(
            (job, _dump(workflow, job, args.to, level, ledger=ledger, **_backend_options(args)))
        )
    if args.check:
        return max(_check(outputs), _check_assets(args.pending_files))
    # Only now, when every input translated, is anything written; and all files or none.
    write_all_atomic(
        [
            file
            for job, text in outputs
            if job.output is not None
            for file in _output_files(job.output, text, args.to)
        ]
    )
    _write_assets(args.pending_files)
    for job, text in outputs:
        if job.output is None:
            _write_stdout(text)
    return 0


def _output_files(output: Path, text: str, to: str) -> list[tuple[Path, str]]:
    """``-o FILE``, or ``-o DIR`` for a writer whose output is several files (``files``)."""
    backend = writer(to)
    if not output.is_dir() or not hasattr(backend, "files"):
        return [(output, text)]  # onto a folder, a one-file writer gets one clear error
    return [(output / name, content) for name, content in backend.files(text)]


def _write_stdout(text: str) -> None:
    """Outputs are UTF-8 whatever the locale says (a C locale would refuse 'é')."""
    sys.stdout.flush()
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(text)
    else:
        stream.write(text.encode("utf-8"))
        stream.flush()


def _jobs(args: argparse.Namespace) -> list[_Job]:
    source = Path(args.input)
    if args.input != "-" and source.is_dir():
        return _folder_jobs(args, source)
    if args.check and args.output is None:
        raise UsageError("--check compares against an output file; pass -o OUTPUT")
    if args.output is not None and args.output.is_dir() and not hasattr(writer(args.to), "files"):
        raise UsageError(f"-o {args.output} is a folder; name the output file")
    read = args.read or infer_reader(args.input)
    label = "<stdin>" if args.input == "-" else args.input
    return [_Job(args.input, label, read, args.output)]


def _folder_jobs(args: argparse.Namespace, folder: Path) -> list[_Job]:
    """Each definition in ``folder`` (not recursive) becomes ``OUTPUT/<stem><extension>``."""
    if args.output is None:
        raise UsageError("INPUT is a folder: pass -o with the folder to write the outputs to")
    if args.output.exists() and not args.output.is_dir():
        raise UsageError(f"INPUT is a folder, so -o must be a folder too; {args.output} is a file")
    read = args.read or "sagemaker"
    suffixes = READERS[read].suffixes if read in READERS else ()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(suffixes))
    if not files:
        raise UsageError(f"{folder} holds no {read} files ({', '.join(suffixes) or 'none'})")
    extension = getattr(writer(args.to), "EXTENSION", "")
    return [
        _Job(
            str(path),
            str(path),
            read,
            args.output / (path.name.removesuffix(path.suffix) + extension),
        )
        for path in files
    ]


def _load(
    job: _Job,
    name: str | None = None,
    args: argparse.Namespace | None = None,
    ledger: Diagnostics | None = None,
) -> Workflow:
    """Read one input. Without a ``ledger`` to add to, what a reader recorded is shown now."""
    frontend = reader(job.read)
    options = _frontend_options(args, frontend, job.read)
    if getattr(frontend, "READS_TEXT", False):
        limit = getattr(args, "max_input_mb", DEFAULT_MAX_INPUT_MB)
        source: Any = read_input(job.source, job.label, limit)
        name = name or (None if job.source == "-" else Path(job.source).stem)
    else:
        source = job.source
    found = Diagnostics() if ledger is None else ledger
    try:
        workflow = load(
            source, read=job.read, name=name, unsupported="warn", diagnostics=found, **options
        )
    except InputError as error:
        raise error.with_source(job.label) from None
    if ledger is None:
        _report(found, UnsupportedLevel.WARN, job.label)
    return schedule_options.apply(workflow, args)


def _frontend_options(args: argparse.Namespace | None, frontend: Any, read: str) -> dict[str, Any]:
    """The script options given on the command line; an error if the input format takes none."""
    given = {
        key: getattr(args, key)
        for key in ("kwargs", "online", "python", "cwd", "assets", "bucket", "load_with_dagbag")
        if getattr(args, key, None) is not None
    }
    accepted = getattr(frontend, "OPTIONS", ())
    for key in given:
        if key not in accepted:
            if key == "load_with_dagbag":
                raise UsageError(f"--load-with-dagbag applies to airflow inputs only, not {read}")
            raise UsageError(f"--{key} applies to sagemaker-python inputs only, not {read}")
    if "pending_files" in accepted and hasattr(args, "pending_files"):
        given["pending_files"] = args.pending_files  # written (or checked) with the outputs
    return given


def _add_writer_options(parser: argparse.ArgumentParser) -> None:
    """One flag per option the writers declare (see pipeglot.backend), with the formats that
    take it; an option several writers share is one flag."""
    group = parser.add_argument_group("output format options")
    for option, formats in writer_options().items():
        if option.name == SOURCE_COMMAND.name:
            continue  # set from the command line itself
        default = f" Default: {option.default}" if option.default is not None else ""
        help_text = f"with --to {'/'.join(formats)}: {option.help}.{default}"
        if option.type is bool:  # --name and --no-name
            group.add_argument(
                option.flag,
                dest=f"option_{option.name}",
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
            )
            continue
        group.add_argument(
            option.flag,
            dest=f"option_{option.name}",
            metavar=option.name.upper(),
            choices=option.choices,
            help=help_text,
        )


def _backend_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options of the output format that were given on the command line; a flag of another
    format is a usage error."""
    declared = {option.name for option in backend_options(writer(args.to))}
    given: dict[str, Any] = {}
    for option, formats in writer_options().items():
        value = getattr(args, f"option_{option.name}", None)
        if value is None:
            continue
        if option.name not in declared:
            raise UsageError(f"{option.flag} applies to --to {', '.join(formats)}, not {args.to}")
        given[option.name] = value
    if SOURCE_COMMAND.name in declared:
        given[SOURCE_COMMAND.name] = _regenerate_command(args)
    return given


def _regenerate_command(args: argparse.Namespace) -> str:
    """The command the user ran, without ``--check``: what regenerates the output."""
    argv = [word for word in args.argv if word != "--check"]
    return shlex.join(["pipeglot", *argv])


def _dump(
    workflow: Workflow,
    job: _Job,
    write: str,
    level: UnsupportedLevel,
    ledger: Diagnostics | None = None,
    **options: Any,
) -> str:
    ledger = Diagnostics() if ledger is None else ledger
    try:
        return dump(workflow, write=write, unsupported=level, diagnostics=ledger, **options)
    finally:
        # At level ERROR an UnsupportedError is raised whose message lists those entries.
        _report(ledger, level, job.label, skip_unsupported=level is UnsupportedLevel.ERROR)


def _report(
    ledger: Diagnostics, level: UnsupportedLevel, label: str, skip_unsupported: bool = False
) -> None:
    for entry in ledger.reportable(level):
        if not (skip_unsupported and entry.fidelity is Fidelity.UNSUPPORTED):
            _say(entry.severity.value, f"{label}: {entry.format()}")


def _check(outputs: list[tuple[_Job, str]]) -> int:
    stale = [job for job, text in outputs if read_text_if_exists(job.output) != text]  # type: ignore[arg-type]
    for job in stale:
        _say("stale", f"{job.output} is out of date with {job.label}; run without --check")
    return EXIT_STALE if stale else 0


def _check_assets(files: dict[Path, bytes]) -> int:
    from pipeglot.frontends.sagemaker_python import stale_files

    for path in stale_files(files):
        _say("stale", f"{path} is out of date with the script's upload; run without --check")
    return EXIT_STALE if stale_files(files) else 0


def _write_assets(files: dict[Path, bytes]) -> None:
    if files:
        from pipeglot.frontends.sagemaker_python import write_files

        write_files(files)


# --- deploy ---------------------------------------------------------------------------------


def _deploy(args: argparse.Namespace) -> int:
    from pipeglot.deploy import deploy  # boto3 is imported only when deploying

    job = _single_job(args)
    workflow = _load(job, args=args)
    level = UnsupportedLevel.parse(args.unsupported)
    ledger = Diagnostics()
    try:
        deploy(
            workflow,
            to=args.to,
            name=args.name,
            role_arn=args.role_arn,
            region=args.region,
            dry_run=args.dry_run,
            unsupported=level,
            diagnostics=ledger,
            **_deploy_options(args),
        )
    finally:
        _report(ledger, level, job.label, skip_unsupported=level is UnsupportedLevel.ERROR)
    return 0


def _deploy_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.dag_lowering is None:
        return {}
    if args.to != "stepfunctions":
        raise UsageError(f"--dag-lowering applies to --to stepfunctions, not {args.to}")
    return {"dag_lowering": args.dag_lowering}


# --- validate, inspect, formats -------------------------------------------------------------


def _single_job(
    args: argparse.Namespace, source: str | None = None, read: str | None = None
) -> _Job:
    source = args.input if source is None else source
    read = read or args.read or infer_reader(source)
    label = "<stdin>" if source == "-" else source
    return _Job(source, label, read, None)


def _validate(args: argparse.Namespace) -> int:
    job = _single_job(args)
    workflow = _load(job, args=args)
    print(
        f"{job.label}: valid {job.read} workflow: {len(workflow.steps)} steps, "
        f"{len(edges(workflow))} edges, {len(workflow.parameter_list)} parameters"
    )
    return 0


def _inspect(args: argparse.Namespace) -> int:
    workflow = _load(_single_job(args), args=args)
    summary = inspect_summary(workflow)
    if args.format == "json":
        sys.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(_inspect_text(summary))
    return 0


def inspect_summary(workflow: Workflow) -> dict[str, Any]:
    """What ``inspect`` shows: parameters, steps in run order, and every edge with its origin."""
    owners = workflow.branch_owner()
    graph = build_graph(workflow)
    steps = []
    for name in topological_order(workflow, graph):
        step = workflow.step(name)
        entry: dict[str, Any] = {"name": name, "type": step.type_name, "kind": step.kind.value}
        if name in owners:
            entry["branch_of"] = owners[name]
        steps.append(entry)
    parameters = []
    for parameter in workflow.parameter_list:
        item: dict[str, Any] = {"name": parameter.name, "type": parameter.type.value}
        item["required"] = parameter.required
        if parameter.default is not MISSING:
            item["default"] = parameter.default
        if parameter.enum_values is not None:
            item["enum_values"] = list(parameter.enum_values)
        parameters.append(item)
    return {
        "name": workflow.name,
        "parameters": parameters,
        "steps": steps,
        "edges": [
            {"source": e.source, "target": e.target, "origin": e.origin.value}
            for e in edges(workflow)
        ],
        **schedule_options.inspect_entries(workflow),
    }


def _inspect_text(summary: dict[str, Any]) -> str:
    lines = [
        f"pipeline {summary['name'] or '(unnamed)'}: {len(summary['steps'])} steps, "
        f"{len(summary['edges'])} edges, {len(summary['parameters'])} parameters",
        "parameters:",
    ]
    for p in summary["parameters"]:
        default = "required" if p["required"] else f"default {json.dumps(p['default'])}"
        lines.append(f"  {p['name']}: {p['type']}, {default}")
    lines.append("steps (in run order):")
    for s in summary["steps"]:
        branch = f"  [branch of {s['branch_of']}]" if "branch_of" in s else ""
        lines.append(f"  {s['name']}: {s['type']} ({s['kind']}){branch}")
    lines.append("edges:")
    for e in summary["edges"]:
        lines.append(f"  {e['source']} -> {e['target']} ({e['origin']})")
    lines.extend(schedule_options.inspect_lines(summary))
    return "\n".join(lines) + "\n"


def _formats(args: argparse.Namespace) -> int:
    width = max(len(name) for name in (*READERS, *WRITERS)) + 1
    print("input formats (--from):")
    for fmt in READERS.values():
        print(f"  {fmt.name:{width}} {fmt.description}")
    print("output formats (--to):")
    for fmt in WRITERS.values():
        print(f"  {fmt.name:{width}} {fmt.description}")
        for option in backend_options(writer(fmt.name)):
            if option.name != SOURCE_COMMAND.name:
                choices = f" ({'|'.join(option.choices)})" if option.choices else ""
                flag = (
                    f"{option.flag}/--no-{option.flag[2:]}" if option.type is bool else option.flag
                )
                print(f"  {'':{width}}   {flag}{choices}: {option.help}")
    return 0


def _say(kind: str, message: str) -> None:
    print(f"pipeglot: {kind}: {message}", file=sys.stderr)


# --- diff, graph, compare -------------------------------------------------------------------


def _add_comparison_commands(commands: Any) -> None:
    diff = commands.add_parser(
        "diff",
        help="structural diff of two workflows in any formats (exit 0 equal, 1 different)",
    )
    diff.add_argument("a", metavar="A", help="the old workflow (a file, or - for stdin)")
    diff.add_argument("b", metavar="B", help="the new workflow")
    _add_from(diff)
    diff.add_argument(
        "--from-b", dest="read_b", metavar="FORMAT", help="B's input format (default: as --from)"
    )
    diff.add_argument("--format", choices=["text", "json"], default="text")
    diff.set_defaults(handler=_diff)

    graph = commands.add_parser("graph", help="draw a workflow's DAG (mermaid, dot or svg)")
    graph.add_argument("input", metavar="INPUT")
    _add_from(graph)
    graph.add_argument("--format", choices=["mermaid", "dot", "svg"], required=True)
    graph.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    graph.set_defaults(handler=_graph)

    compare = commands.add_parser(
        "compare", help="translate to every target and compare what each keeps and costs"
    )
    compare.add_argument("input", metavar="INPUT")
    _add_from(compare)
    compare.add_argument(
        "--to", metavar="FORMATS", help="comma-separated output formats (default: every one)"
    )
    compare.add_argument("--format", choices=["text", "json", "html"], default="text")
    compare.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    compare.add_argument("--name", help="pipeline name (default: the input file's name)")
    _add_writer_options(compare)
    compare.set_defaults(handler=_compare)


def _diff(args: argparse.Namespace) -> int:
    from pipeglot.diff import diff, format_text

    jobs = [_single_job(args, args.a, args.read), _single_job(args, args.b, args.read_b)]
    if args.a == "-" and args.b == "-":
        raise UsageError("only one of A and B can be - (stdin)")
    a, b = (_load(job, args=args) for job in jobs)
    result = diff(a, b)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_text(result, jobs[0].label, jobs[1].label))
    return 0 if result.equal else 1


def _graph(args: argparse.Namespace) -> int:
    from pipeglot import graph

    workflow = _load(_single_job(args), name=_stem(args.input), args=args)
    if args.format == "mermaid":
        text = dump(workflow, write="mermaid", unsupported=UnsupportedLevel.IGNORE)
    elif args.format == "dot":
        text = graph.to_dot(graph.workflow_drawing(workflow))
    else:
        text = graph.to_svg(graph.workflow_drawing(workflow))
    _write_output(args.output, text)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from pipeglot import compare

    targets = compare.parse_targets(args.to)
    options = _compare_options(args, targets)
    job = _single_job(args)
    workflow = _load(job, name=args.name or _stem(args.input), args=args)
    report = compare.compare(workflow, targets, source=job.label, options=options)
    _write_output(args.output, compare.render(report, args.format))
    return 0


def _compare_options(args: argparse.Namespace, targets: Sequence[str]) -> dict[str, Any]:
    """Each target's options from the flags given; a flag no compared target takes is an error."""
    per_target: dict[str, dict[str, Any]] = {target: {} for target in targets}
    for option, formats in writer_options().items():
        value = getattr(args, f"option_{option.name}", None)
        if value is None:
            continue
        takers = [t for t in targets if option.name in _declared_options(t)]
        if not takers:
            raise UsageError(
                f"{option.flag} applies to --to {', '.join(formats)}, not compared here"
            )
        for target in takers:
            per_target[target][option.name] = value
    return per_target


def _declared_options(target: str) -> set[str]:
    return {option.name for option in backend_options(writer(target))}


def _stem(source: str) -> str | None:
    return None if source == "-" else Path(source).stem


def _write_output(output: Path | None, text: str) -> None:
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomic(output, text)
