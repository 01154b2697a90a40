"""Quiet by default: no TensorFlow log lines and no progress bars where none belong."""

import os
import subprocess
import sys

import pytest

from seqapps.tasks import TextClassifier
from seqapps.zoo import describe

TEXTS = ["good film", "bad film", "good", "bad", "a good one", "a bad one", "fine", "dull"]
LABELS = [1, 0, 1, 0, 1, 0, 1, 0]
SIZE = describe("sentiment-lstm")["num_parameters"]


def run_python(code, tmp_path, **env):
    """Runs `code` in a fresh Python as a user would: no TensorFlow setting of ours."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "SEQAPPS_V"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environ,
        timeout=600,
    )


def test_python_use_writes_no_log_line_and_no_bar(tmp_path):
    code = f"""
import seqapps
model = seqapps.load("sentiment-lstm")
print(repr(model))
print(model.classify("great!")["label"])
print(model.predict(["great!"]).shape)
model.finetune({TEXTS!r}, {LABELS!r}, epochs=1, batch_size=4)
try:
    seqapps.load("sentiment-lstn")
except ValueError as error:
    print("error:", error)
"""
    done = run_python(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # before: oneDNN, cudart, CPU-feature, cuInit and DT_HALF lines
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        f"<TextClassifier 'sentiment-lstm': text-classification, {SIZE:,} parameters>",
        "positive",
        "(1, 2)",  # before: two Keras progress bars for one text
    ]
    # finetune into a file: one plain line per epoch, no bar redrawn with ANSI codes
    assert "\x1b[" not in done.stdout and "\r" not in done.stdout and "\b" not in done.stdout
    assert any(line.startswith("2/2 - ") and "val_loss" in line for line in lines)
    assert "did you mean 'sentiment-lstm'" in lines[-1]  # errors still reach the user


def test_command_line_errors_come_alone(tmp_path):
    """An error on the command line is the error line, with no TensorFlow line beside it."""
    (tmp_path / "broken.png").write_bytes(b"not an image")
    calls = [["list", "nothing*"], ["caption", "caption-emoji-gru", "broken.png"]]
    code = f"from seqapps.cli import main; print([main(argv) for argv in {calls!r}])"
    done = run_python(code, tmp_path)  # one Python: TensorFlow's first import is the noisy one
    assert done.stdout.strip() == "[1, 1]", done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith("seqapps list: error: ")
    assert lines[1].startswith("seqapps caption: error: ") and "cannot be decoded" in lines[1]


def test_seqapps_verbose_leaves_tensorflow_as_it_is(tmp_path):
    code = """
import logging, os, sys
import seqapps
print(os.environ.get("TF_CPP_MIN_LOG_LEVEL"), logging.getLogger("tensorflow").level)
print(any(type(f).__name__ == "_QuietFirstImport" for f in sys.meta_path))
"""
    assert run_python(code, tmp_path).stdout.split() == ["3", "40", "True"]
    assert run_python(code, tmp_path, SEQAPPS_VERBOSE="1").stdout.split() == ["None", "0", "False"]
    kept = run_python(code, tmp_path, TF_CPP_MIN_LOG_LEVEL="1").stdout.split()
    assert kept[0] == "1"  # the user's own setting wins


@pytest.fixture(scope="module")
def tiny():
    return TextClassifier(["good", "bad"], ["negative", "positive"], units=4, embedding_dim=4)


def test_predict_on_a_few_texts_prints_nothing(tiny, capsys):
    tiny.predict(["great!"])
    assert capsys.readouterr().out == ""


def test_a_terminal_gets_a_bar_for_many_batches_and_a_log_gets_lines(tiny, capsys, monkeypatch):
    tiny.predict(["good"] * 100)
    out = capsys.readouterr().out
    assert "\x1b[" not in out and out.startswith("4/4 - ")  # not a terminal: one plain line
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    tiny.predict(["good"] * 100)
    assert "━" in capsys.readouterr().out  # a terminal: Keras's bar
    tiny.predict(["good"] * 100, verbose=0)
    assert capsys.readouterr().out == ""
