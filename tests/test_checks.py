"""One checker of numeric options: generation options and the tasks' arguments are refused in the
same words, and the generation options need no task code to be checked."""

import subprocess
import sys

import numpy as np
import pytest

from seqapps.checks import check_float, check_int
from seqapps.generation import GenerationConfig


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: check_int(0, "beam_size", low=1, high=64),
            "beam_size must be an integer in 1..64",
        ),
        (lambda: GenerationConfig(beam_size=0), "beam_size must be an integer in 1..64"),
        (lambda: check_int(np.int64(-1), "patience", low=0), "patience must be an integer >= 0"),
        (lambda: check_int(2.5, "epochs", low=1), "epochs must be a positive integer, got 2.5"),
        (lambda: check_int(True, "epochs", low=1), "epochs must be a positive integer, got True"),
        (
            lambda: check_float(1.0, "validation_fraction", low=0, high=1, open_high=True),
            r"validation_fraction must be a number in \[0, 1\), got 1.0",
        ),
        (lambda: check_float(np.float32("nan"), "x", low=0, open_low=True), "x must be a positive"),
        (lambda: GenerationConfig(top_p=0), r"top_p must lie in \(0, 1\], .*got 0"),
    ],
)
def test_every_option_is_refused_in_one_wording(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_numpy_numbers_are_taken_and_shown_as_python_ones():
    assert check_int(np.int32(3), "n", low=1) == 3 and type(check_int(np.int32(3), "n")) is int
    assert check_float(np.float16(0.5), "p", low=0, high=1) == 0.5
    with pytest.raises(ValueError, match=r"got 70$"):
        check_int(np.int64(70), "beam_size", low=1, high=64)


def test_generation_checks_its_options_without_the_tasks():
    code = "import sys, seqapps.generation; print('seqapps.tasks' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
