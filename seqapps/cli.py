"""The `seqapps` command line: a command per task verb, plus list, info, finetune, export, inspect, serve.

The verb commands and the data options of `finetune` come from each task's
`Interface` (`seqapps.interface`); nothing here names a task. Argument errors
(an unknown model, a missing file, a bad option) are answered before
TensorFlow is imported. Exit codes: 0 done, 1 the work failed (bad data, a
model error), 2 a usage error, 141 (128 + SIGPIPE) the reader of the output
went away (`| head -1`).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from seqapps._quiet import stderr_silenced
from seqapps.cli_answers import write_answers
from seqapps.cli_options import add_option, option_dest, option_value, option_values
from seqapps.interface import (
    GENERATION,
    DeclaredTask,
    Interface,
    Option,
    declared_tasks,
    finetune_options,
    preset_task,
)
from seqapps.serve.command import problem as serve_problem

PRESET_HELP = "entry name, .keras preset, or a folder holding model.keras"
#: Exit status of a process whose output pipe closed, as a shell reports one killed by SIGPIPE.
EXIT_PIPE_CLOSED = 128 + 13


class UsageError(Exception):
    """A bad command line, found before any work: exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    tasks = declared_tasks()
    parser, commands = _parser(tasks)
    try:
        if argv and argv[0] in commands:
            args, unknown = commands[argv[0]].parse_known_intermixed_args(argv[1:])
            if unknown:
                commands[argv[0]].error(_unknown_arguments(unknown, argv[0], commands))
            args.command = argv[0]
        else:
            args = parser.parse_args(argv)  # --help, --version, or an unknown command
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 2
    try:
        args.declared = _check_arguments(args, tasks)
        if getattr(args, "quiet", False):
            _import_tensorflow_quietly()
        args.run(args)
        sys.stdout.flush()
    except UsageError as error:
        commands.get(args.command, parser).print_usage(sys.stderr)
        print(f"seqapps {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Python's advice (docs, signal module): point stdout at devnull so that the
        # flush at exit cannot fail again, then exit as a process killed by SIGPIPE.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE_CLOSED
    except (ValueError, TypeError, OSError, KeyError, NotImplementedError) as error:
        print(f"seqapps {args.command}: error: {error}", file=sys.stderr)
        return 1
    return 0


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its start-up notices kept off stderr: C++ writes them before any
    logging setting applies, so stderr is /dev/null for the import alone."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with stderr_silenced():
        import tensorflow  # noqa: F401
        import tensorflow_text  # noqa: F401  (its library load notices, too)


# -- the parser ------------------------------------------------------------------------------


def _parser(tasks: list[DeclaredTask]):
    """`(top-level parser, {command or alias: its parser})`."""
    from seqapps.version import __version__

    parser = argparse.ArgumentParser(
        prog="seqapps", description="Recurrent-network sequence applications and their zoo."
    )
    parser.add_argument("--version", action="version", version=f"seqapps {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    found: dict[str, argparse.ArgumentParser] = {}

    def command(name, help, run, aliases=(), quiet=True):
        sub = commands.add_parser(name, help=help, description=help, aliases=list(aliases))
        sub.set_defaults(run=run, quiet=quiet)
        found.update(dict.fromkeys([name, *aliases], sub))
        return sub

    list_ = command("list", "list the zoo entries", _list, quiet=False)
    list_.add_argument("pattern", nargs="?", help="fnmatch filter, e.g. 'sentiment-*'")
    list_.add_argument("--task", help="only entries of this task, e.g. text-classification")
    info = command("info", "print an entry's card: use, limits, numbers", _info, quiet=False)
    info.add_argument("name", help="entry name")
    info.add_argument("--json", action="store_true", help="the raw card, as JSON")

    verbs: dict[str, Interface] = {}
    for task in tasks:
        verbs.setdefault(task.interface.verb, task.interface)
    for face in verbs.values():
        sub = command(face.verb, face.summary, _answer, face.aliases)
        sub.set_defaults(interface=face)
        sub.add_argument("name", help=PRESET_HELP)
        if face.inputs is not None:
            sub.add_argument(
                "inputs",
                nargs="*",
                default=[],
                metavar=face.inputs.upper(),
                help=f"{face.inputs}s; none: one per line from --file or stdin",
            )
            sub.add_argument(
                "--file", help=f"read one {face.inputs} per line from this file ('-': stdin)"
            )
            add_option(
                sub, Option("--batch-size", "", "inputs answered at once", "positive_int", 32)
            )
        else:  # refused with a hint, not as argparse's "unrecognized arguments"
            sub.add_argument("stray", nargs="*", default=[], help=argparse.SUPPRESS)
        sub.add_argument("--json", action="store_true", help="one JSON object per line")
        for option in face.options:
            add_option(sub, option)

    finetune = command(
        "finetune", "fine-tune an entry on your data; write a .keras preset", _finetune, quiet=False
    )
    finetune.add_argument("name", help=PRESET_HELP)
    for option in finetune_options(tasks):
        add_option(finetune, option, default=None)
    for option in (
        Option(
            "--out", "", "the .keras file to write (a folder: model.keras in it)", required=True
        ),
        Option("--overwrite", "", "replace a preset at --out", "flag"),
        Option("--epochs", "", "most passes over the data (early stopping)", "positive_int", 10),
        Option("--learning-rate", "", "Adam's learning rate", "float", 3e-4),
        Option("--batch-size", "", "examples per training step", "positive_int", 32),
        Option(
            "--freeze",
            "",
            "a layer to keep as it is, by name (repeatable; an unknown name lists the model's)",
            "append",
        ),
        Option("--backup-dir", "", "save the state here every epoch; rerun to resume a killed run"),
        Option("--quiet", "", "no progress bars", "flag"),
    ):
        add_option(finetune, option)

    export = command("export", "write a SavedModel that serves raw input", _export)
    export.add_argument("name", help=PRESET_HELP)
    export.add_argument("directory", help="a new or empty folder, e.g. exports/model/1")
    add_option(export, Option("--overwrite", "", "replace an earlier seqapps export there", "flag"))

    inspect = command(
        "inspect",
        "gradient flow through time and hidden states of entries with a recurrent stack, "
        "as PNGs and an HTML page",
        _inspect,
    )
    inspect.add_argument("names", nargs="+", help="one curve per entry, .keras preset or folder")
    inspect.add_argument(
        "--text", required=True, help="what the models read: a text, or an image file"
    )
    inspect.add_argument("--out", required=True, help="a new or empty folder for the report")
    add_option(inspect, Option("--units", "", "units shown per picture", "positive_int", 16))
    command("datasets", "list the bundled datasets", _datasets, quiet=False)
    from seqapps.serve import command as serve

    serve.add_arguments(command("serve", "serve entries: TF Serving's REST API, a page", serve.run))
    return parser, found


def _unknown_arguments(unknown: list[str], command: str, commands: dict) -> str:
    """argparse's "unrecognized arguments", or for an option the commands that take it."""
    flag = next((item.split("=")[0] for item in unknown if item.startswith("-")), None)
    if flag is None:
        return f"unrecognized arguments: {' '.join(unknown)}"
    takers = {p.prog.split()[-1] for p in commands.values() if flag in p._option_string_actions}
    if not takers:
        return f"{flag} is not an option of {command}; see seqapps {command} --help"
    verb = "takes" if len(takers) == 1 else "take"
    return f"{flag} is not an option of {command}; {', '.join(sorted(takers))} {verb} it"


# -- checks before TensorFlow ----------------------------------------------------------------


def _check_arguments(args: argparse.Namespace, tasks: list[DeclaredTask]) -> DeclaredTask | None:
    """Refuses what can be refused without a model; returns the task of `args.name` if known."""
    for name in getattr(args, "names", []):  # inspect's and serve's
        task = _task_of(name, tasks)
        reads_images = task is not None and task.interface.inputs == "image"
        if args.command == "inspect" and reads_images and not Path(args.text).is_file():
            raise UsageError(f"--text {args.text}: no such file; {name} reads an image file")
    if args.command == "serve" and (problem := serve_problem(args)):
        raise UsageError(problem)
    if args.command == "inspect":
        out = Path(args.out)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError(f"{out} exists and is not an empty folder; choose a new --out")
    if not hasattr(args, "name"):
        return None
    task = _task_of(args.name, tasks)
    face = getattr(args, "interface", None)  # a verb command's
    if face is not None and task is not None:
        _refuse_another_verb(args, task.task_name, task.interface)
    if getattr(args, "stray", None):
        first = next((o.flag for o in face.options if o.type == "str"), "--OPTION")
        raise UsageError(
            f"{face.verb} takes options only, no {args.stray[0]!r} as an argument; "
            f"did you mean {first}={shlex.quote(' '.join(args.stray))}?"
        )
    files = (
        {f"--file {args.file}": args.file} if getattr(args, "file", None) not in (None, "-") else {}
    )
    if face is not None and face.inputs == "image":  # paths as arguments: there before the model
        files.update({path: path for path in args.inputs if path.strip()})
    for shown_as, path in files.items():
        if Path(path).is_dir() and shown_as.startswith("--file"):
            raise UsageError(f"{shown_as} is a folder; --file takes one file, an input per line")
        if Path(path).is_dir():
            raise UsageError(f"{path} is a folder; give the images in it ({Path(path) / '*.png'})")
        if not Path(path).is_file():
            raise UsageError(f"{shown_as}: no such file")
    if face is not None and set(GENERATION) <= set(face.options):
        from seqapps.generation import GenerationConfig

        try:  # the generation options, checked as the verb will check them
            GenerationConfig(**option_values(args, GENERATION))
        except (TypeError, ValueError) as error:
            raise UsageError(error) from None
    reads_stdin = face is not None and face.inputs and not args.inputs and args.file in (None, "-")
    no_inputs = reads_stdin and args.file is None  # nothing said of where the inputs are
    if reads_stdin and (sys.stdin is None or sys.stdin.closed):
        raise UsageError(f"stdin is closed; give {face.inputs}s as arguments or with --file FILE")
    if no_inputs and sys.stdin.isatty():
        raise UsageError(
            f"give {face.inputs}s as arguments, with --file FILE, or on stdin (a pipe)"
        )
    from seqapps import safe_write

    try:  # where the command writes: refused now, not after the work
        if args.command == "export":
            safe_write.check_directory_target(Path(args.directory), overwrite=args.overwrite)
        if args.command == "finetune":
            keras_file = args.out.endswith(".keras")
            args.out = Path(args.out if keras_file else os.path.join(args.out, "model.keras"))
            safe_write.check_file_target(args.out, overwrite=args.overwrite)
    except FileExistsError as error:
        raise UsageError(error) from None
    if args.command == "finetune" and task is not None:
        _check_finetune_options(args, task.task_name, task.interface)
    return task


def _task_of(name: str, tasks: list[DeclaredTask]) -> DeclaredTask | None:
    """The declared task of a zoo entry or `.keras` file; None when only loading can tell."""
    from seqapps.zoo import list_models, registry

    path = registry.preset_file(name)
    if path is not None:
        if not path.is_file():
            raise UsageError(f"{name}: no such .keras file")
        return preset_task(str(path), tasks)
    if name not in list_models():
        close = difflib.get_close_matches(name, list_models(), n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise UsageError(f"unknown model {name!r}; {hint}see 'seqapps list'")
    task_name = registry.get_entry(name).task
    return next((t for t in tasks if t.task_name == task_name), None)


def _check_finetune_options(args: argparse.Namespace, task_name: str, face: Interface) -> None:
    mine = {option.flag for option in face.finetune}
    options = finetune_options(declared_tasks())
    given = [o.flag for o in options if getattr(args, option_dest(o), None) not in (None, False)]
    wanted = " and ".join(o.flag for o in face.finetune if o.required) or "no data options"
    for flag in given:
        if flag not in mine:
            raise UsageError(f"{flag} is not an option for {task_name} entries; they take {wanted}")
    for option in face.finetune:
        value = getattr(args, option_dest(option), None)
        if option.required and value is None:
            raise UsageError(f"{option.flag} is missing: {task_name} is fine-tuned with {wanted}")
        if option.type == "path" and value is not None and not Path(value).exists():
            raise UsageError(f"{option.flag} {value}: no such file or folder")


# -- the commands --------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> None:
    from seqapps.zoo import get_entry, list_models

    known = sorted({task.task_name for task in declared_tasks()})
    if args.task is not None and args.task not in known:
        raise UsageError(f"there is no task {args.task!r}; the tasks are {', '.join(known)}")
    names = list_models(args.pattern, task=args.task)
    if not names:
        raise ValueError(f"no zoo entry matches {args.pattern!r}; `seqapps list` shows them all")
    width = max(len(name) for name in names)
    print(f"{'name':<{width}}  {'task':<20}  {'parameters':>10}  test metric")
    for name in names:
        entry = get_entry(name)
        headline = entry.headline_metric()
        metrics = f"{headline[0]} {headline[1]:.3f}" if headline else ""
        print(f"{name:<{width}}  {entry.task:<20}  {entry.num_parameters:>10,}  {metrics}")


def _info(args: argparse.Namespace) -> None:
    from seqapps.zoo import describe, format_card, registry

    if registry.preset_file(args.name) is not None:
        raise UsageError(
            f"{args.name} is a preset file; info prints a zoo entry's card, which a preset has "
            f"not (see 'seqapps list' for the entries)"
        )
    card = describe(args.name)
    print(
        json.dumps(card, indent=2, ensure_ascii=False) if args.json else format_card(card).rstrip()
    )


def _load(args: argparse.Namespace):
    """Loads `args.name`; a verb command refuses a model whose task has another verb."""
    import seqapps

    model = seqapps.load(str(args.name))
    if model.interface is None:
        raise ValueError(f"{args.name!r} holds a {type(model).__name__}, which has no interface")
    if getattr(args, "interface", None) is not None:
        _refuse_another_verb(args, model.task_name, model.interface)
    return model


def _refuse_another_verb(args: argparse.Namespace, task_name: str, face: Interface) -> None:
    if args.interface.verb != face.verb:
        raise UsageError(
            f"{args.name!r} is a {task_name} entry; run it with `seqapps {face.verb} {args.name} ...`"
        )


def _answer(args: argparse.Namespace) -> None:
    """Runs a task's verb on the inputs (`seqapps.cli_answers`), with the options it takes."""
    model = _load(args)
    given = [
        o.flag for o in args.interface.options if getattr(args, option_dest(o)) not in (None, False)
    ]
    if foreign := [flag for flag in given if flag not in {o.flag for o in model.interface.options}]:
        raise UsageError(f"{args.name!r} does not take {', '.join(foreign)}")  # e.g. --attention
    write_answers(model, args, option_values(args, model.interface.options))


def _finetune(args: argparse.Namespace) -> None:
    model = _load(args)
    if args.declared is None:  # a preset of a task declared outside seqapps: checked now
        _check_finetune_options(args, model.task_name, model.interface)
    data = {option.keyword: option_value(args, option) for option in model.interface.finetune}
    try:
        model, arguments, keywords = model.finetune_data(**data)
    except ValueError as error:  # name the option behind a keyword the message names
        flags = [o.flag for o in model.interface.finetune if f"{o.keyword} " in str(error)]
        raise ValueError(f"{error} (set with {', '.join(flags)})" if flags else error) from None
    history = model.finetune(
        *arguments,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        freeze=tuple(args.freeze or ()),
        # A progress bar redraws with carriage returns; redirected output gets a line per epoch.
        verbose=0 if args.quiet else ("auto" if sys.stdout.isatty() else 2),
        backup_dir=args.backup_dir,
        **keywords,
    )
    if "val_loss" not in history.history:
        raise ValueError("training stopped before its first validation; nothing was written")
    path = model.save_preset(args.out, overwrite=args.overwrite)
    loss = min(history.history["val_loss"])
    details = [*model.finetune_summary(history), f"best validation loss {loss:.4f}"]
    print(f"wrote {path} ({'; '.join(details)})")


def _export(args: argparse.Namespace) -> None:
    import tensorflow as tf

    try:
        path = _load(args).export(args.directory, overwrite=args.overwrite)
    except tf.errors.OpError as error:  # e.g. a full disk while TensorFlow writes the variables
        raise OSError(
            f"could not write the export to {args.directory}: {error.message.splitlines()[0]}; "
            f"nothing was replaced. Free some space or choose another folder"
        ) from None
    print(f"wrote SavedModel to {path}")


def _inspect(args: argparse.Namespace) -> None:
    import seqapps
    from seqapps import inspect

    models = {name: seqapps.load(name) for name in args.names}
    pictures, page = inspect.write_report(models, args.text, Path(args.out), units=args.units)
    print(f"wrote {pictures} pictures and {page}")


def _datasets(args: argparse.Namespace) -> None:
    from seqapps import datasets

    print(datasets.format_table())


if __name__ == "__main__":
    sys.exit(main())
