"""The `seqapps` command line: list, info, predict, generate, finetune, export, datasets."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "quiet", False):
        _import_tensorflow_quietly()
    try:
        return args.run(args) or 0
    except (ValueError, TypeError, OSError, KeyError) as error:
        print(f"seqapps {args.command}: error: {error}", file=sys.stderr)
        return 2


def _import_tensorflow_quietly() -> None:
    """Imports TensorFlow with its start-up notices (oneDNN, CUDA, absl) kept off stderr.

    They are written by C++ before any logging setting applies, so the process's
    stderr is pointed at /dev/null for the import alone; errors after it show as usual.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
            import tensorflow_text  # noqa: F401  (its library load notices, too)
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _parser() -> argparse.ArgumentParser:
    from seqapps.version import __version__

    parser = argparse.ArgumentParser(
        prog="seqapps", description="Recurrent-network sequence applications and their zoo."
    )
    parser.add_argument("--version", action="version", version=f"seqapps {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    # Every command's help shows the defaults of its options.
    add_parser = commands.add_parser

    def add_command(*args, **kwargs):
        return add_parser(*args, formatter_class=argparse.ArgumentDefaultsHelpFormatter, **kwargs)

    commands.add_parser = add_command

    list_ = commands.add_parser("list", help="list the zoo entries")
    list_.add_argument("pattern", nargs="?", help="fnmatch filter, e.g. 'sentiment-*'")
    list_.add_argument("--task", help="only entries of this task")
    list_.set_defaults(run=_list)

    info = commands.add_parser("info", help="print an entry's card as JSON")
    info.add_argument("name")
    info.set_defaults(run=_info)

    predict = commands.add_parser(
        "predict", help="run an entry on texts (arguments, --file, or lines on stdin)"
    )
    predict.add_argument("name")
    predict.add_argument("texts", nargs="*", help="texts; none: read lines from --file or stdin")
    predict.add_argument("--file", help="read one text per line from this file ('-' for stdin)")
    predict.add_argument("--json", action="store_true", help="JSON lines out")
    predict.add_argument(
        "--all-scores",
        action="store_true",
        help="include every label's score (a name=score column, or 'scores' in JSON)",
    )
    predict.set_defaults(run=_predict, quiet=True)

    generate = commands.add_parser(
        "generate", help="write text with a text-generation entry, streamed as it is produced"
    )
    generate.add_argument("name", help="entry name or .keras preset")
    generate.add_argument("--prompt", default="", help="the beginning of the text")
    generate.add_argument("--length", type=int, default=400, help="characters (tokens) to write")
    generate.add_argument("--temperature", type=float, default=0.8, help="0: greedy")
    generate.add_argument("--top-k", type=int, default=None)
    generate.add_argument("--top-p", type=float, default=None)
    generate.add_argument("--seed", type=int, default=None, help="makes the text reproducible")
    generate.add_argument("--stop", action="append", default=None, help="stop after this string")
    generate.set_defaults(run=_generate, quiet=True)

    translate = commands.add_parser(
        "translate", help="translate texts with a translation entry (arguments, --file or stdin)"
    )
    translate.add_argument("name", help="entry name or .keras preset")
    translate.add_argument("texts", nargs="*", help="texts; none: read lines from --file or stdin")
    translate.add_argument("--file", help="read one text per line from this file ('-' for stdin)")
    translate.add_argument(
        "--beam", type=_positive_int, default=1, help="beam size (default: 1, greedy)"
    )
    translate.add_argument(
        "--max-length", type=_positive_int, default=None, help="most pieces written per text"
    )
    translate.add_argument(
        "--no-repeat-ngram-size",
        type=_positive_int,
        default=None,
        help="never write an n-gram of pieces twice in one output (default: no such rule)",
    )
    translate.add_argument("--json", action="store_true", help="JSON lines out")
    translate.set_defaults(run=_translate, quiet=True)

    tag = commands.add_parser(
        "tag", help="tag the tokens of sentences with a tagging entry (arguments, --file or stdin)"
    )
    tag.add_argument("name", help="entry name or .keras preset")
    tag.add_argument("texts", nargs="*", help="sentences; none: read lines from --file or stdin")
    tag.add_argument("--file", help="read one sentence per line from this file ('-' for stdin)")
    tag.add_argument("--json", action="store_true", help="JSON lines out")
    tag.set_defaults(run=_tag, quiet=True)

    caption = commands.add_parser("caption", help="caption images with an image-captioning entry")
    caption.add_argument("name", help="entry name or .keras preset")
    caption.add_argument("images", nargs="+", help="image files (PNG, JPEG, GIF, BMP)")
    caption.add_argument(
        "--beam", type=_positive_int, default=1, help="beam size (default: 1, greedy)"
    )
    caption.add_argument(
        "--no-repeat-ngram-size",
        type=_positive_int,
        default=None,
        help="never write an n-gram of pieces twice in one output (default: no such rule)",
    )
    caption.add_argument("--json", action="store_true", help="JSON lines out")
    caption.set_defaults(run=_caption, quiet=True)

    finetune = commands.add_parser(
        "finetune",
        help="fine-tune an entry on a CSV/TSV file, a CoNLL file (--conll) or plain text "
        "(--text-file)",
    )
    finetune.add_argument("name")
    data = finetune.add_mutually_exclusive_group(required=True)
    data.add_argument(
        "--data",
        help="CSV or TSV file with labels (classification entries), or source<TAB>target "
        "lines (translation entries)",
    )
    data.add_argument(
        "--conll",
        help="CoNLL file: 'token tag' lines, a blank line between sentences (tagging entries); "
        "a new tag set gets a fresh head",
    )
    data.add_argument(
        "--text-file",
        help="a text file or a folder of text files, hidden ones skipped (text-generation entries)",
    )
    finetune.add_argument(
        "--image-dir",
        help="captioning entries: the folder of images that --data (a CSV with columns image, "
        "caption; several rows per image allowed) names",
    )
    finetune.add_argument("--text-column", default="text")
    finetune.add_argument("--label-column", default="label")
    finetune.add_argument(
        "--out",
        required=True,
        help="the .keras file to write (a folder gets model.keras); refused if it exists",
    )
    finetune.add_argument(
        "--overwrite", action="store_true", help="replace an existing .keras preset at --out"
    )
    finetune.add_argument("--epochs", type=_positive_int, default=10)
    finetune.add_argument("--learning-rate", type=float, default=3e-4)
    finetune.add_argument("--batch-size", type=_positive_int, default=32)
    finetune.add_argument(
        "--freeze", action="append", default=[], help="layer to freeze: embedding, encoder"
    )
    finetune.add_argument(
        "--adversarial-epsilon",
        type=float,
        default=0.0,
        help="classification entries: adversarial training on the word vectors, as the zoo's "
        "sentiment recipe trains (e.g. 0.2; see TextClassifier.compile)",
    )
    finetune.add_argument(
        "--backup-dir",
        help="save the training state here after every epoch; a killed run started again "
        "with the same arguments resumes from it",
    )
    finetune.add_argument("--quiet", action="store_true", help="no progress bars")
    finetune.set_defaults(run=_finetune)

    export = commands.add_parser("export", help="write a SavedModel that serves raw input")
    export.add_argument("name", help="entry name or .keras preset")
    export.add_argument("directory", help="a new or empty folder, e.g. exports/model/1")
    export.add_argument(
        "--overwrite", action="store_true", help="replace an earlier seqapps export in DIRECTORY"
    )
    export.set_defaults(run=_export, quiet=True)

    inspect = commands.add_parser(
        "inspect",
        help="gradient flow through time and hidden-state pictures of entries with a recurrent "
        "stack, as PNGs and an HTML page",
    )
    inspect.add_argument("names", nargs="+", help="entries or .keras presets, one curve each")
    inspect.add_argument("--text", required=True, help="the text the models read")
    inspect.add_argument("--out", required=True, help="a new or empty folder for the report")
    inspect.add_argument("--units", type=_positive_int, default=16, help="units shown per picture")
    inspect.set_defaults(run=_inspect, quiet=True)

    datasets = commands.add_parser("datasets", help="list the bundled datasets")
    datasets.set_defaults(run=_datasets)
    return parser


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return number


def _list(args: argparse.Namespace) -> None:
    from seqapps.zoo import get_entry, list_models

    names = list_models(args.pattern, task=args.task)
    if not names:
        from seqapps.tasks import TASKS

        tasks = f" (tasks: {', '.join(sorted(TASKS))})" if args.task else ""
        raise ValueError(
            f"no zoo entry matches{' ' + repr(args.pattern) if args.pattern else ''}"
            f"{' of task ' + repr(args.task) if args.task else ''}{tasks}; "
            f"`seqapps list` shows them all"
        )
    width = max((len(name) for name in names), default=4)
    for name in names:
        entry = get_entry(name)
        headline = entry.headline_metric()
        metrics = f"test {headline[0]} {headline[1]:.3f}" if headline else ""
        print(f"{name:<{width}}  {entry.task:<20}  {entry.num_parameters:>9,} params  {metrics}")


def _info(args: argparse.Namespace) -> None:
    from seqapps.zoo import describe

    print(json.dumps(describe(args.name), indent=2, ensure_ascii=False))


def _read_lines(path: str) -> list[str]:
    """Non-blank lines of a file or of stdin (`-`); a terminal or empty input is an error."""
    if path == "-" and (sys.stdin is None or sys.stdin.closed):
        raise ValueError("stdin is closed; give texts as arguments or with --file FILE")
    if path == "-" and sys.stdin.isatty():
        raise ValueError("give texts as arguments, with --file FILE, or as lines on stdin (a pipe)")
    name = "stdin" if path == "-" else path
    stream = getattr(sys.stdin, "buffer", sys.stdin) if path == "-" else open(path, "rb")
    with stream:
        lines = []
        for number, raw in enumerate(stream, start=1):
            try:
                line = (raw if isinstance(raw, str) else raw.decode("utf-8")).rstrip("\r\n")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{name} line {number} is not UTF-8 (byte {raw[error.start]:#x} at column "
                    f"{error.start + 1}); convert the file, e.g. iconv -f latin1 -t utf-8"
                ) from None
            if line.strip():
                lines.append(line)
    if not lines:
        raise ValueError(f"no texts: {'stdin' if path == '-' else path} has no non-blank line")
    return lines


#: The command that runs each task's verb.
COMMANDS = {
    "classify": "predict",
    "generate": "generate",
    "translate": "translate",
    "caption": "caption",
    "tag": "tag",
}


def _load(name: str, verb: str):
    """Loads an entry for a command, refusing one whose task has another verb."""
    import seqapps

    model = seqapps.load(name)
    if model.verb != verb:
        raise ValueError(
            f"{name!r} is a {model.task_name!r} entry; run it with "
            f"`seqapps {COMMANDS.get(model.verb, model.verb)} {name} ...`"
        )
    return model


def _predict(args: argparse.Namespace) -> None:
    texts: Iterable[str] = args.texts
    if not texts:
        texts = _read_lines(args.file or "-")
    model = _load(args.name, "classify")
    results = model.classify(list(texts), all_scores=args.all_scores)
    for text, result in zip(texts, results):
        if args.json:
            print(json.dumps({"text": text, **result}, ensure_ascii=False))
        elif args.all_scores:
            scores = " ".join(f"{name}={score:.3f}" for name, score in result["scores"].items())
            print(f"{result['label']}\t{result['score']:.3f}\t{scores}\t{text}")
        else:
            print(f"{result['label']}\t{result['score']:.3f}\t{text}")


def _generate(args: argparse.Namespace) -> None:
    model = _load(args.name, "generate")
    pieces = model.stream(
        args.prompt,
        args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
        stop=args.stop,
    )
    sys.stdout.write(args.prompt)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


def _translate(args: argparse.Namespace) -> None:
    texts: list[str] = list(args.texts) or _read_lines(args.file or "-")
    model = _load(args.name, "translate")
    translations = model.translate(
        texts,
        beam_size=args.beam,
        max_length=args.max_length,
        no_repeat_ngram_size=args.no_repeat_ngram_size,
    )
    for text, translation in zip(texts, translations):
        if args.json:
            print(json.dumps({"text": text, "translation": translation}, ensure_ascii=False))
        else:
            print(translation)


def _tag(args: argparse.Namespace) -> None:
    texts: list[str] = list(args.texts) or _read_lines(args.file or "-")
    model = _load(args.name, "tag")
    for text, pairs in zip(texts, model.tag(texts, is_split_into_words=False)):
        if args.json:
            tokens, tags = [list(column) for column in zip(*pairs)] if pairs else ([], [])
            print(json.dumps({"text": text, "tokens": tokens, "tags": tags}, ensure_ascii=False))
        else:
            print(" ".join(f"{token}/{tag}" for token, tag in pairs))


def _caption(args: argparse.Namespace) -> None:
    model = _load(args.name, "caption")
    captions = model.caption(
        list(args.images), beam_size=args.beam, no_repeat_ngram_size=args.no_repeat_ngram_size
    )
    for image, caption in zip(args.images, captions):
        if args.json:
            print(json.dumps({"image": image, "caption": caption}, ensure_ascii=False))
        else:
            print(f"{caption}\t{image}")


def _finetune(args: argparse.Namespace) -> None:
    from pathlib import Path

    import seqapps
    from seqapps import safe_write

    out = Path(args.out if args.out.endswith(".keras") else os.path.join(args.out, "model.keras"))
    safe_write.check_file_target(out, overwrite=args.overwrite)  # before training, not after
    model = seqapps.load(args.name)
    if args.image_dir and model.verb != "caption":
        raise ValueError("--image-dir applies to captioning entries only")
    options = {}
    if model.verb == "classify":
        if not args.data:
            raise ValueError(f"{args.name!r} classifies texts: pass --data FILE.csv with labels")
        model, data = _labelled_rows(args, model)
        options["adversarial_epsilon"] = args.adversarial_epsilon
    elif model.verb == "translate":
        if not args.data:
            raise ValueError(f"{args.name!r} translates: pass --data FILE.tsv of source<TAB>target")
        from seqapps import datasets

        data = (datasets.from_parallel_tsv(args.data),)
    elif model.verb == "caption":
        if not (args.data and args.image_dir):
            raise ValueError(
                f"{args.name!r} captions images: pass --image-dir FOLDER and --data captions.csv"
            )
        from seqapps import datasets

        data = (datasets.from_image_folder(args.image_dir, args.data, image_size=model.image_size),)
    elif model.verb == "tag":
        if not args.conll:
            raise ValueError(f"{args.name!r} tags tokens: pass --conll FILE")
        model, data = _conll_sentences(args, model)
    elif model.verb == "generate":
        if not args.text_file:
            raise ValueError(f"{args.name!r} generates text: pass --text-file FILE_OR_FOLDER")
        data = (Path(args.text_file),)
    else:
        raise ValueError(f"{args.name!r} is a {model.task_name!r} entry, which finetune lacks")
    if args.adversarial_epsilon and model.verb != "classify":
        raise ValueError("--adversarial-epsilon applies to classification entries only")
    history = model.finetune(
        *data,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        freeze=tuple(args.freeze),
        # A progress bar redraws with carriage returns; redirected output gets a line per epoch.
        verbose=0 if args.quiet else ("auto" if sys.stdout.isatty() else 2),
        backup_dir=args.backup_dir,
        **options,
    )
    if "val_loss" not in history.history:
        raise ValueError("training stopped before its first validation; nothing was written")
    path = model.save_preset(out, overwrite=args.overwrite)
    details = [f"best validation loss {min(history.history['val_loss']):.4f}"]
    if model.verb == "classify":
        details.insert(0, f"labels {model.labels}")
    elif model.verb == "tag":
        details.insert(0, f"tags {model.tags}")
    elif model.verb == "generate":
        details.append(
            f"{history.unknown_characters} characters outside the vocabulary read as [UNK]"
        )
    print(f"wrote {path} ({'; '.join(details)})")


def _labelled_rows(args: argparse.Namespace, model):
    """`(model, (texts, label_ids))` from a CSV/TSV file, read by `seqapps.datasets.from_csv`.

    Label names the model has keep its head; other names get a fresh head on
    the pretrained layers; integer labels are ids of the model's labels (said on
    stderr, so the mapping is never a surprise).
    """
    import seqapps
    from seqapps import datasets

    try:
        dataset, names = datasets.from_csv(args.data, args.text_column, args.label_column)
    except ValueError as error:
        if "is not a column" in str(error):
            raise ValueError(f"{error}; name them with --text-column / --label-column") from None
        raise
    if names is not None and set(names) <= set(model.labels):
        dataset, names = datasets.from_csv(
            args.data, args.text_column, args.label_column, label_names=model.labels
        )
    texts = [text.decode("utf-8") for text, _ in dataset.as_numpy_iterator()]
    labels = [label for _, label in dataset.as_numpy_iterator()]
    if names is None:
        if any(float(label) != int(label) for label in labels):
            raise ValueError(
                f"{args.data}: column {args.label_column!r} holds non-integer numbers; "
                f"labels must be names or integer ids of {model.labels}"
            )
        mapping = ", ".join(f"{i} → {name!r}" for i, name in enumerate(model.labels))
        print(f"numeric labels read as the model's label ids: {mapping}", file=sys.stderr)
    elif names != model.labels:
        print(
            f"labels {names} differ from the model's {model.labels}: a fresh head is trained "
            f"for them on the pretrained layers",
            file=sys.stderr,
        )
        model = seqapps.load(args.name, labels=names)
    if len(set(labels)) < 2:
        raise ValueError(
            f"{args.data}: every row has the same label ({labels[0]!r}); fine-tuning a "
            f"classifier needs examples of at least two labels"
        )
    return model, (texts, [int(label) for label in labels])


def _conll_sentences(args: argparse.Namespace, model):
    """`(model, (tagged sentences,))` from a CoNLL file, read by `seqapps.datasets.from_conll`.

    Tags the model has keep its head; a file with other tags gets a fresh head
    over the file's tag set on the pretrained layers (said on stderr).
    """
    import seqapps
    from seqapps import datasets

    _, names = datasets.from_conll(args.conll)
    if set(names) <= set(model.tags):
        names = model.tags
    else:
        new = sorted(set(names) - set(model.tags))
        print(
            f"tags {new} are not among the model's {model.tags}: a fresh head is trained for "
            f"the file's tags {names} on the pretrained layers",
            file=sys.stderr,
        )
        model = seqapps.load(args.name, tags=names)
    dataset, _ = datasets.from_conll(args.conll, label_names=names)
    return model, (dataset,)


def _export(args: argparse.Namespace) -> None:
    import tensorflow as tf

    import seqapps

    try:
        path = seqapps.load(args.name).export(args.directory, overwrite=args.overwrite)
    except tf.errors.OpError as error:  # e.g. a full disk while TensorFlow writes the variables
        raise OSError(
            f"could not write the export to {args.directory}: {error.message.splitlines()[0]}; "
            f"nothing was replaced. Free some space or choose another folder"
        ) from None
    print(f"wrote SavedModel to {path}")


def _inspect(args: argparse.Namespace) -> None:
    import html
    from pathlib import Path

    import seqapps
    from seqapps import inspect, plots

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; choose a new --out")
    models = {name: seqapps.load(name) for name in args.names}
    out.mkdir(parents=True, exist_ok=True)
    curves = {name: inspect.gradient_flow(model, [args.text]) for name, model in models.items()}
    plots.gradient_flow_chart(curves, out / "gradient_flow.png", title=args.text[:60])
    pictures = ["gradient_flow.png"]
    for number, (name, model) in enumerate(models.items(), start=1):
        tokens = inspect.tokens(model, args.text)
        for key, values in inspect.trace(model, [args.text])[0].items():
            if key.endswith(("h", "gate")):  # hidden states and gates of the first layer
                picture = f"{number}-{Path(name).stem}-{key}.png"
                units = range(min(args.units, values.shape[1]))
                plots.state_heatmap(
                    values, tokens, out / picture, units=units, title=f"{name}: {key}"
                )
                pictures.append(picture)
    page = "".join(f'<p>{html.escape(p)}</p><img src="{html.escape(p)}">\n' for p in pictures)
    (out / "index.html").write_text(
        f"<!doctype html><title>seqapps inspect</title><h1>{html.escape(args.text)}</h1>\n{page}",
        encoding="utf-8",
    )
    print(f"wrote {len(pictures)} pictures and {out / 'index.html'}")


def _datasets(args: argparse.Namespace) -> None:
    from seqapps import datasets

    print(datasets.format_table())


if __name__ == "__main__":
    sys.exit(main())
