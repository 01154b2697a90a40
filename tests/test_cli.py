"""The `seqapps` command line, on a tiny entry registered for the test."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import seqapps
from harness import zoo_entry_for
from seqapps.cli import main
from seqapps.serve import load_models
from seqapps.tasks import TextClassifier
from seqapps.zoo import register, registry


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    model = TextClassifier(["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4)
    path = model.save_preset(tmp_path_factory.mktemp("cli") / "tiny.keras")
    card = zoo_entry_for(
        path,
        "cli-tiny",
        num_parameters=model.count_params(),
        metrics={"test": {"accuracy": {"pooled": 0.5}}},
    )
    register(card)
    yield card
    registry._REGISTRY.pop("cli-tiny")


def test_list_and_info(entry, capsys):
    assert main(["list", "cli-*"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "task", "parameters", "test", "metric"]
    assert "cli-tiny" in out and "accuracy 0.500" in out
    assert main(["info", "cli-tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "cli-tiny"
    assert main(["info", "cli-tiny"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("cli-tiny (text-classification)\n") and "licence: Apache-2.0" in text


def test_unknown_name_is_a_clear_error(entry, capsys):
    assert main(["info", "cli-tiyn"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'cli-tiny'" in err and "see 'seqapps list'" in err


def test_predict_from_arguments_stdin_and_file(entry, capsys, monkeypatch, tmp_path):
    assert main(["classify", "cli-tiny", "good", "bad", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["good", "bad"]
    assert all(r["label"] in ("negative", "positive") and 0 <= r["score"] <= 1 for r in rows)

    monkeypatch.setattr(sys, "stdin", io.StringIO("good\n\nbad\n"))
    assert main(["predict", "cli-tiny"]) == 0  # `predict` is kept as an alias of `classify`
    lines = capsys.readouterr().out.splitlines()
    # One output line per input line: the blank one gets a blank answer.
    assert len(lines) == 3 and lines[0].endswith("\tgood") and lines[1] == ""
    monkeypatch.setattr(sys, "stdin", io.StringIO("good\n\nbad\n"))
    assert main(["classify", "cli-tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[1]) == {"text": ""}

    texts = tmp_path / "texts.txt"
    texts.write_text("good\nbad\ngood bad\n", encoding="utf-8")
    assert main(["classify", "cli-tiny", "--file", str(texts), "--json", "--all-scores"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3 and set(rows[0]["scores"]) == {"negative", "positive"}


def test_finetune_writes_a_preset_with_the_new_labels(entry, capsys, tmp_path, monkeypatch):
    data = tmp_path / "reviews.csv"
    rows = ["review,stars"] + ["good,high" for _ in range(12)] + ["bad,low" for _ in range(12)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code = main(
        [
            "finetune",
            "cli-tiny",
            "--data",
            str(data),
            "--text-column",
            "review",
            "--label-column",
            "stars",
            "--out",
            str(out),
            "--epochs",
            "2",
            "--adversarial-epsilon",
            "0.2",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "labels ['high', 'low']" in capsys.readouterr().out
    assert main(["classify", str(out / "model.keras"), "good", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("high", "low")
    # The folder `--out` was given names the model as well as its file does.
    assert main(["classify", str(out), "good", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("high", "low")
    assert seqapps.load(out).labels == ["high", "low"]
    assert repr(seqapps.load(out)).startswith("<TextClassifier 'out/model.keras': ")
    assert list(load_models([str(out)])) == ["out"]  # served as /v1/models/out
    # An entry's name wins over a folder of the same name.
    (tmp_path / "cli-tiny").mkdir()
    (out / "model.keras").rename(tmp_path / "cli-tiny" / "model.keras")
    monkeypatch.chdir(tmp_path)
    assert seqapps.load("cli-tiny").labels == ["negative", "positive"]


def test_finetune_on_text_files_for_a_generation_entry(capsys, tmp_path):
    from seqapps.tasks import TextGenerator

    model = TextGenerator(list("abc "), cell="gru", units=8, embedding_dim=4)
    path = model.save_preset(tmp_path / "gen.keras")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "one.txt").write_text("abc cab bac " * 40 + "xyz", encoding="utf-8")
    out = tmp_path / "tuned.keras"
    code = main(
        [
            "finetune",
            str(path),
            "--text-file",
            str(tmp_path / "texts"),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert "3 characters outside the vocabulary" in capsys.readouterr().out
    assert out.exists()
    out = str(tmp_path / "again.keras")
    assert main(["finetune", str(path), "--data", "x.csv", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "--data is not an option for text-generation entries; they take --text-file" in err
    text_file = ["--text-file", str(tmp_path / "texts"), "--out", out]
    assert main(["finetune", str(path), *text_file, "--adversarial-epsilon", "0.2"]) == 2
    assert "--adversarial-epsilon is not an option for text-gen" in capsys.readouterr().err


def test_finetune_names_missing_columns(entry, capsys, tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("body,label\nfine,positive\n", encoding="utf-8")
    code = main(["finetune", "cli-tiny", "--data", str(data), "--out", str(tmp_path / "o")])
    assert code == 1  # the data is wrong, not the command line
    err = capsys.readouterr().err
    assert "text_column 'text' is not a column" in err and "--text-column" in err

    # An image given where a table or a list of inputs belongs is named as an image.
    image = Path(__file__).parents[1] / "docs" / "examples" / "dog.png"
    assert main(["finetune", "cli-tiny", "--data", str(image), "--out", str(tmp_path / "o")]) == 1
    assert (
        f"{image} holds an image, not text: give a text or CSV/TSV file" in capsys.readouterr().err
    )
    assert main(["classify", "cli-tiny", "--file", str(image)]) == 1
    err = capsys.readouterr().err
    assert f"{image} is an image; --file names a text file of texts, one per line\n" in err


def test_export_writes_a_saved_model(entry, capsys, tmp_path):
    assert main(["export", "cli-tiny", str(tmp_path / "export")]) == 0
    assert (tmp_path / "export" / "saved_model.pb").exists()


def test_entry_point_is_installed():
    script = Path(sys.executable).parent / "seqapps"  # installed beside this Python
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "finetune" in done.stdout


def test_datasets_table_lists_counts_and_licences(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("sentence_polarity"))
    assert row.split()[2:6] == ["18834", "2229", "2257", "MIT"]
    assert len(out.splitlines()) == 6  # header + the five bundled datasets


def test_finetune_reads_csv_through_the_datasets_reader(entry, capsys, tmp_path):
    data = tmp_path / "reviews.csv"
    out = tmp_path / "tuned.keras"
    run = ["finetune", "cli-tiny", "--data", str(data), "--out", str(out), "--epochs", "1"]
    # Integer labels are the model's label ids (said on stderr): the pretrained head is kept.
    data.write_text("text,label\n" + "good,1\nbad,0\n" * 4, encoding="utf-8")
    assert main([*run, "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "0 → 'negative', 1 → 'positive'" in captured.err
    assert "labels ['negative', 'positive']" in captured.out
    # An empty label cell is an error naming the line, not a class ''.
    data.write_text("text,label\ngood,positive\nbad,\n", encoding="utf-8")
    assert main([*run, "--overwrite", "--quiet"]) == 1
    assert "line 3: the label is empty" in capsys.readouterr().err
    # Fractional labels and a single label are refused.
    data.write_text("text,label\ngood,0.7\nbad,0.2\n", encoding="utf-8")
    assert main([*run, "--overwrite", "--quiet"]) == 1
    assert "non-integer" in capsys.readouterr().err
    data.write_text("text,label\ngood,positive\nfine,positive\n", encoding="utf-8")
    assert main([*run, "--overwrite", "--quiet"]) == 1
    assert "at least two labels" in capsys.readouterr().err


def test_commands_name_the_command_for_another_task(entry, capsys):
    assert main(["translate", "cli-tiny", "good"]) == 2
    assert "run it with `seqapps classify cli-tiny" in capsys.readouterr().err


def test_newcomer_details(entry, capsys, monkeypatch):
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("seqapps ")
    assert main(["list", "nothing-*"]) == 1
    assert "no zoo entry matches 'nothing-*'" in capsys.readouterr().err
    assert main(["info", "sentiment-lstm"]) == 0
    assert "\\u2192" not in capsys.readouterr().out  # arrows as arrows
    assert main(["info", entry.weights["file"]]) == 2  # a preset file has no card
    assert "is a preset file; info prints a zoo entry's card" in capsys.readouterr().err
    assert main(["classify", "cli-tiny", "good", "--all-scores"]) == 0
    assert "negative=" in capsys.readouterr().out


# -- behaving like a Unix command ----------------------------------------------------------


def _in_fresh_python(args, cwd):
    """`main(args)` in a new interpreter: (exit status, stderr, whether TensorFlow was imported)."""
    code = (
        "import sys; from seqapps.cli import main; rc = main(sys.argv[1:]); "
        "print('tensorflow' in sys.modules, file=sys.stderr); sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        timeout=120,
    )
    err, _, imported = done.stderr.rstrip("\n").rpartition("\n")
    return done.returncode, err, imported == "True"


@pytest.mark.parametrize(
    "args, says",
    [
        (["classify", "sentiment-lstn", "hi"], "did you mean 'sentiment-lstm'"),
        (["classify", "sentiment-lstm", "--file", "none.txt"], "--file none.txt: no such file"),
        (["caption", "caption-emoji-gru", "none.png"], "none.png: no such file"),
        (["caption", "caption-emoji-gru", "."], ". is a folder; give the images in it (*.png)"),
        (["classify", "sentiment-lstm", "--file", "."], "--file . is a folder; --file takes one"),
        (
            ["inspect", "caption-emoji-gru", "--text", "a text", "--out", "report"],
            "--text a text: no such file; caption-emoji-gru reads an image file",
        ),
        (["translate", "translate-en-es-gru", "--beam", "0", "hi"], "must be a positive integer"),
        (["classify", "sentiment-lstm", "--no-such-option", "hi"], "see seqapps classify --help"),
        (
            ["classify", "sentiment-lstm", "--beam", "3", "hi"],
            "--beam is not an option of classify; caption, generate, translate take it",
        ),
        (["translate", "sentiment-lstm", "hi"], "run it with `seqapps classify sentiment-lstm"),
        (
            ["finetune", "textgen-shakespeare-lstm", "--data", "x.csv", "--out", "t.keras"],
            "--data is not an option for text-generation entries; they take --text-file",
        ),
        (["finetune", "sentiment-lstm", "--data", "none.csv", "--out", "t.keras"], "no such file"),
        (
            ["finetune", "caption-emoji-gru", "--data", __file__, "--out", "t.keras"],
            "--image-dir is missing: image-captioning is fine-tuned with --data and --image-dir",
        ),
        (
            ["generate", "textgen-shakespeare-rnn", "ROMEO:", "--seed", "1"],
            "generate takes options only, no 'ROMEO:' as an argument; did you mean --prompt=ROMEO:?",
        ),
        (["list", "--task", "nonsense"], "there is no task 'nonsense'; the tasks are image-capt"),
        (["predict"], "the following arguments are required: name\n"),  # texts are optional
    ],
)
def test_argument_errors_are_answered_before_tensorflow_in_the_command_lines_words(
    args, says, tmp_path
):
    code, err, imported = _in_fresh_python(args, tmp_path)
    assert (code, imported) == (2, False), err
    assert says in err + "\n" and "seqapps.list_models()" not in err
    assert err.startswith("usage: seqapps ")
    assert not list(tmp_path.iterdir())


def test_options_may_stand_between_the_name_and_the_texts(entry, capsys):
    assert main(["classify", "cli-tiny", "--all-scores", "good", "--json", "bad"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["text"] for row in rows] == ["good", "bad"] and "scores" in rows[0]


def test_answers_stream_per_batch_and_a_closed_pipe_ends_quietly():
    """`python -m seqapps.cli` on a zoo entry, as a user runs it: it answers each batch as it
    comes, stops quietly when its reader goes away, and prints nothing but its answers (no
    TensorFlow start-up notice on stderr)."""
    import contextlib
    import select

    process = subprocess.Popen(
        [sys.executable, "-m", "seqapps.cli", "classify", "sentiment-lstm", "--batch-size", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdin.write("good\n")
    process.stdin.flush()
    # The first answer comes while stdin is still open: nothing waits for the end of the input.
    assert select.select([process.stdout], [], [], 120)[0], "no answer before the input ended"
    label, _, rest = process.stdout.readline().partition("\t")
    assert label in ("positive", "negative") and rest.endswith("\tgood\n")
    process.stdout.close()  # the reader goes away, as `| head -1` does
    with contextlib.suppress(BrokenPipeError):
        process.stdin.write("bad\n" * 2000)
        process.stdin.close()
    assert process.wait(timeout=120) == 141  # 128 + SIGPIPE, as a shell reports it
    assert process.stderr.read() == ""  # no 'Broken pipe', no traceback


def test_every_option_has_help_and_shows_its_default_once(capsys):
    from seqapps.cli import _parser
    from seqapps.interface import declared_tasks

    _, commands = _parser(declared_tasks())
    for name, command in commands.items():
        for action in command._actions:
            assert action.help, f"seqapps {name} {action.option_strings or action.dest}"
            assert action.help.count("default") <= 1, action.help
    assert main(["translate", "--help"]) == 0
    # --beam is unset by default, so Python's default applies and none is shown
    assert "beam size; 1 is greedy or sampling\n" in capsys.readouterr().out


def test_numbers_in_the_label_column_may_be_label_names(capsys, tmp_path):
    # The README's own example, run as written on a small file of 1-5 stars.
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    line = next(x for x in readme.splitlines() if x.startswith("seqapps finetune sentiment-lstm"))
    args = line.split("#")[0].split()[1:]
    assert "--labels-from-data" in args
    rows = ["review,stars"] + ["a great film,5", "dull and long,1", "fine enough,3"] * 4
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    args = [a.replace("out/", str(tmp_path / "out")) for a in args if not a.startswith("[")]
    args = [str(tmp_path / a) if a == "reviews.csv" else a for a in args]
    without = [a for a in args if a != "--labels-from-data"]
    assert main([*without, "--epochs", "1", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "labels [1, 3, 5] are not ids of ['negative', 'positive']; --labels-from-data" in err
    assert main([*args, "--epochs", "1", "--quiet"]) == 0, capsys.readouterr().err
    assert "labels ['1', '3', '5']" in capsys.readouterr().out
    assert main(["classify", str(tmp_path / "out" / "model.keras"), "a great film"]) == 0
    assert capsys.readouterr().out.split("\t")[0] in ("1", "3", "5")


def test_the_declarations_read_before_tensorflow_are_the_classes_own():
    from seqapps.interface import DeclaredTask, _read_builtin_tasks
    from seqapps.tasks import TASKS

    read = {task.task_name: task for task in _read_builtin_tasks()}
    assert set(read) == set(TASKS)
    for name, cls in TASKS.items():
        assert read[name] == DeclaredTask(name, cls.__module__, cls.__name__, cls.interface)
