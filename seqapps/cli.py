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
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        return args.run(args) or 0
    except (ValueError, TypeError, OSError, KeyError) as error:
        print(f"seqapps {args.command}: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seqapps", description="Recurrent-network sequence applications and their zoo."
    )
    commands = parser.add_subparsers(dest="command", required=True)

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
    predict.add_argument("--all-scores", action="store_true", help="include every label's score")
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

    finetune = commands.add_parser(
        "finetune", help="fine-tune an entry on a CSV/TSV file, or on plain text (--text-file)"
    )
    finetune.add_argument("name")
    data = finetune.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", help="CSV or TSV file (classification entries)")
    data.add_argument(
        "--text-file", help="a text file or a folder of *.txt files (text-generation entries)"
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
    finetune.add_argument("--quiet", action="store_true", help="no progress bars")
    finetune.set_defaults(run=_finetune)

    export = commands.add_parser("export", help="write a SavedModel that serves raw input")
    export.add_argument("name", help="entry name or .keras preset")
    export.add_argument("directory", help="a new or empty folder, e.g. exports/model/1")
    export.add_argument(
        "--overwrite", action="store_true", help="replace an earlier seqapps export in DIRECTORY"
    )
    export.set_defaults(run=_export, quiet=True)

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
    width = max((len(name) for name in names), default=4)
    for name in names:
        entry = get_entry(name)
        headline = entry.headline_metric()
        metrics = f"test {headline[0]} {headline[1]:.3f}" if headline else ""
        print(f"{name:<{width}}  {entry.task:<20}  {entry.num_parameters:>9,} params  {metrics}")


def _info(args: argparse.Namespace) -> None:
    from seqapps.zoo import describe

    print(json.dumps(describe(args.name), indent=2))


def _read_lines(path: str) -> list[str]:
    stream = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with stream:
        return [line.rstrip("\n") for line in stream if line.strip()]


def _predict(args: argparse.Namespace) -> None:
    import seqapps

    texts: Iterable[str] = args.texts
    if not texts:
        texts = _read_lines(args.file or "-")
    model = seqapps.load(args.name)
    if not hasattr(model, "classify"):
        raise ValueError(
            f"predict runs text-classification entries; {args.name!r} is a "
            f"{model.task_name!r} entry (see seqapps --help for its command)"
        )
    results = model.classify(list(texts), all_scores=args.all_scores)
    for text, result in zip(texts, results):
        if args.json:
            print(json.dumps({"text": text, **result}, ensure_ascii=False))
        else:
            print(f"{result['label']}\t{result['score']:.3f}\t{text}")


def _generate(args: argparse.Namespace) -> None:
    import seqapps

    model = seqapps.load(args.name)
    if not hasattr(model, "stream"):
        raise ValueError(f"{args.name!r} is a {model.task_name!r} entry, not a text generator")
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


def _finetune(args: argparse.Namespace) -> None:
    from pathlib import Path

    import seqapps
    from seqapps import safe_write

    out = Path(args.out if args.out.endswith(".keras") else os.path.join(args.out, "model.keras"))
    safe_write.check_file_target(out, overwrite=args.overwrite)  # before training, not after
    model = seqapps.load(args.name)
    if hasattr(model, "classify"):
        if not args.data:
            raise ValueError(f"{args.name!r} classifies texts: pass --data FILE.csv with labels")
        texts, labels = _labelled_rows(args)
        if sorted(set(labels)) != sorted(model.labels):
            model = seqapps.load(args.name, labels=sorted(set(labels)))
        data = (texts, labels)
        options = {"adversarial_epsilon": args.adversarial_epsilon}
    else:
        if not args.text_file:
            raise ValueError(f"{args.name!r} generates text: pass --text-file FILE_OR_FOLDER")
        if args.adversarial_epsilon:
            raise ValueError("--adversarial-epsilon applies to classification entries only")
        options = {}
        data = (Path(args.text_file),)
    history = model.finetune(
        *data,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        batch_size=args.batch_size,
        freeze=tuple(args.freeze),
        verbose=0 if args.quiet else "auto",
        **options,
    )
    path = model.save_preset(out, overwrite=args.overwrite)
    details = [f"best validation loss {min(history.history['val_loss']):.4f}"]
    if hasattr(model, "classify"):
        details.insert(0, f"labels {model.labels}")
    else:
        details.append(
            f"{history.unknown_characters} characters outside the vocabulary read as [UNK]"
        )
    print(f"wrote {path} ({'; '.join(details)})")


def _labelled_rows(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    import pandas as pd

    separator = "\t" if args.data.endswith((".tsv", ".tab")) else ","
    frame = pd.read_csv(args.data, sep=separator, keep_default_na=False)
    missing = [c for c in (args.text_column, args.label_column) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{args.data} has no column(s) {missing}; its columns are {list(frame.columns)}; "
            f"name them with --text-column / --label-column"
        )
    texts = frame[args.text_column].astype(str).tolist()
    return texts, [str(label) for label in frame[args.label_column]]


def _export(args: argparse.Namespace) -> None:
    import seqapps

    path = seqapps.load(args.name).export(args.directory, overwrite=args.overwrite)
    print(f"wrote SavedModel to {path}")


def _datasets(args: argparse.Namespace) -> None:
    from seqapps import datasets

    print(datasets.format_table())


if __name__ == "__main__":
    sys.exit(main())
