"""What a task declares for the shared code: its command, inputs, answers, options and data.

A task class sets `interface = Interface(...)`, plain data, and may override
the `Task` hooks that turn it into behaviour (`answer`, `plain`,
`finetune_data`, `recurrences`), much as a Hugging Face pipeline declares
`preprocess` / `_forward` / `postprocess`. The command line and
`seqapps.inspect` know the tasks only through these: a new task is one module.

Importing a task imports TensorFlow (seconds), so `declared_tasks` reads the
built-in tasks' declarations from their source files without importing them:
the command line answers an unknown model, a missing file or a bad option
before TensorFlow loads. Tasks defined elsewhere are found once imported.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Option:
    """One command-line option, handed to the task as the keyword argument `keyword`.

    Args:
        flag: the option as typed, e.g. `"--beam"`.
        keyword: the keyword argument it sets (of the verb, or of `finetune_data`).
        help: one line for `--help`; the default is shown after it when not None.
        type: `"str"`, `"int"`, `"positive_int"`, `"float"`, `"flag"` (on/off),
            `"append"` (repeatable) or `"path"` (a file or folder that must exist,
            checked before the model loads).
        default: the value when the option is not given; None is not passed on,
            so the Python method's own default applies.
        required: the command refuses to run without it.
        drawn: a flag that asks the verb for something the web page of `seqapps serve`
            draws (attention weights, probabilities): the page asks for it unless unticked.
    """

    flag: str
    keyword: str
    help: str
    type: str = "str"
    default: object = None
    required: bool = field(default=False, kw_only=True)
    drawn: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class Interface:
    """How a task meets the command line and `inspect`.

    Args:
        verb: the method that answers raw input; also the command that runs it.
        summary: the command's one line of help.
        inputs: what one input is, and its key in the answers: `"text"` or
            `"image"` (a path) come as arguments, `--file` lines or stdin lines,
            one answer per input; None: the options are the whole input.
        output: the answers' key for a verb result that is not a dict.
        plain: the plain output line, formatted from an answer's keys.
        options: the verb's own options.
        finetune: the `seqapps finetune` options this task reads (`Task.finetune_data`).
        aliases: other names of the command.

    Example:

    >>> Interface("shout", "shout texts", output="shout").plain
    '{output}'
    """

    verb: str
    summary: str
    inputs: str | None = "text"
    output: str = "output"
    plain: str = "{output}"
    options: tuple[Option, ...] = ()
    finetune: tuple[Option, ...] = ()
    aliases: tuple[str, ...] = ()


#: The options of `seqapps.generation.GenerationConfig`, shared by every generative verb. Unset,
#: none is passed on, so the command line has the Python defaults (greedy, the task's length).
GENERATION = (
    Option("--max-length", "max_length", "most tokens written (unset: the task's default)", "int"),
    Option("--beam", "beam_size", "beam size; 1 is greedy or sampling", "positive_int"),
    Option("--temperature", "temperature", "0 is greedy; higher samples wilder", "float"),
    Option("--top-k", "top_k", "sample among the k likeliest tokens only", "positive_int"),
    Option("--top-p", "top_p", "sample among the likeliest tokens of this mass", "float"),
    Option("--seed", "seed", "makes a sample reproducible", "int"),
    Option(
        "--no-repeat-ngram-size",
        "no_repeat_ngram_size",
        "never write an n-gram of tokens twice in one output (unset: no such rule)",
        "positive_int",
    ),
)

#: Translation's and captioning's: also answer the attention weights (`Task.answer`'s
#: `"attention"`: the written pieces, and the weights over the source pieces or image cells).
ATTENTION = Option(
    "--attention",
    "return_attention",
    "also answer the attention weights of each written piece (with --json)",
    "flag",
    drawn=True,
)
#: Text generation's: also answer (or stream) the model's probability of each written token.
PROBABILITIES = Option(
    "--probabilities",
    "probabilities",
    "also answer each written token's probability (with --json)",
    "flag",
    drawn=True,
)
#: The options a task's interface may name, as `_read_builtin_tasks` evaluates them.
SHARED = {"GENERATION": GENERATION, "ATTENTION": ATTENTION, "PROBABILITIES": PROBABILITIES}


@dataclass(frozen=True)
class DeclaredTask:
    """A task class as the command line sees it before importing it."""

    task_name: str
    module: str
    class_name: str
    interface: Interface


def declared_tasks() -> list[DeclaredTask]:
    """Every task with an interface: the built-in ones, and any other imported `Task` subclass.

    Once `seqapps.tasks` is imported (TensorFlow is loaded anyway), the
    classes themselves answer; before that, the built-in modules' source does.
    """
    if "seqapps.tasks.task" not in sys.modules:
        return _read_builtin_tasks()
    from seqapps.tasks.task import Task

    found, classes = [], [Task]
    while classes:
        cls = classes.pop(0)
        classes.extend(cls.__subclasses__())
        if cls.__dict__.get("interface") is not None and cls.task_name:
            found.append(DeclaredTask(cls.task_name, cls.__module__, cls.__name__, cls.interface))
    return found


def preset_task(path: str, tasks: list[DeclaredTask]) -> DeclaredTask | None:
    """The task of a `.keras` preset, from the class its config names (the file is not
    loaded); None if the file cannot tell (loading it will say why) or the task is not known."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    where = (config.get("module"), config.get("class_name"))
    return next((task for task in tasks if (task.module, task.class_name) == where), None)


def finetune_options(tasks: list[DeclaredTask]) -> list[Option]:
    """Every task's finetune options, one per flag; each help names the tasks it serves."""
    by_flag: dict[str, list[tuple[str, Option]]] = {}
    for task in tasks:
        for option in task.interface.finetune:
            by_flag.setdefault(option.flag, []).append((task.task_name, option))
    merged = []
    for uses in by_flag.values():
        first = uses[0][1]
        helps = "; ".join(f"{name}: {option.help}" for name, option in uses)
        same_default = all(option.default == first.default for _, option in uses)
        default = first.default if same_default else None
        merged.append(Option(first.flag, first.keyword, helps, first.type, default))
    return merged


def _read_builtin_tasks() -> list[DeclaredTask]:
    """`task_name` and `interface` of the classes in `seqapps/tasks/*.py`, read with `ast`."""
    found = []
    for path in sorted((Path(__file__).parent / "tasks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            values = {
                statement.targets[0].id: statement.value
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and isinstance(statement.targets[0], ast.Name)
                and statement.targets[0].id in ("task_name", "interface")
            }
            if len(values) == 2 and ast.literal_eval(values["task_name"]) is not None:
                found.append(
                    DeclaredTask(
                        ast.literal_eval(values["task_name"]),
                        f"seqapps.tasks.{path.stem}",
                        node.name,
                        _evaluate(values["interface"]),
                    )
                )
    return found


def _evaluate(node):
    """A declaration: literals, calls of `Interface` and `Option`, and the shared options."""
    if isinstance(node, ast.Name) and node.id in SHARED:
        return SHARED[node.id]
    if isinstance(node, ast.Call):
        names = {"Interface": Interface, "Option": Option}
        if not isinstance(node.func, ast.Name) or node.func.id not in names:
            raise ValueError(
                f"a task interface may call only Interface and Option: {ast.dump(node)}"
            )
        return names[node.func.id](
            *[_evaluate(arg) for arg in node.args],
            **{keyword.arg: _evaluate(keyword.value) for keyword in node.keywords},
        )
    if isinstance(node, ast.Tuple):
        elements = [
            _evaluate(element.value) if isinstance(element, ast.Starred) else (_evaluate(element),)
            for element in node.elts
        ]
        return tuple(item for element in elements for item in element)
    return ast.literal_eval(node)
