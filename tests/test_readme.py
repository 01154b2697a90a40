"""The README says what the code does: its zoo table, its dataset licences, its Python blocks."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seqapps import datasets
from seqapps.zoo import get_entry, list_models

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: (line number, code) of every ```python block.
BLOCKS = [
    (README.count("\n", 0, match.start()) + 1, match.group(1))
    for match in re.finditer(r"^```python\n(.*?)^```", README, re.S | re.M)
]
BLOCK_IDS = [f"line-{line}" for line, _ in BLOCKS]


@pytest.mark.parametrize("name", list_models())
def test_zoo_table_row_matches_the_card(name):
    zoo = README.split("\n## The zoo\n")[1].split("\n## ")[0]
    rows = [line for line in zoo.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README needs one zoo table row for {name}"
    metric, value = get_entry(name).headline_metric()
    shown = f"{value:.3f}" if value < 5 else f"{value:.2f}"  # accuracy 0.776, bpc 1.996, BLEU 29.63
    assert shown in rows[0], f"README row for {name} should show test {metric} {shown}"
    assert f"{get_entry(name).num_parameters:,}" in rows[0]


#: name → licence, as `seqapps datasets` prints them (the last column).
PRINTED_LICENCES = {
    line.split()[0]: re.split(r"\s{2,}", line)[-1]
    for line in datasets.format_table().splitlines()[1:]
}


@pytest.mark.parametrize("name", list_models())
def test_the_zoo_section_says_what_each_entry_is_for(name):
    lines = [line for line in README.splitlines() if line.startswith("- ") and f"`{name}`" in line]
    assert len(lines) == 1 and "intended use:" in lines[0], f"README needs {name}'s intended use"
    if name.startswith("translate-"):  # the card's own outputs, as the card shows them
        usage, text = get_entry(name).usage, " ".join(README.split())
        for example in [*usage["failure_examples"][:1], usage["empty_input"]]:
            assert f'"{example["input"]}" → "{example["output"]}"' in text or (
                example["input"] == "" and f'empty input → "{example["output"]}"' in text
            )


@pytest.mark.parametrize("name", sorted(PRINTED_LICENCES))
def test_dataset_licence_reads_as_seqapps_datasets_prints_it(name):
    rows = [line for line in README.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README needs one datasets table row for {name}"
    assert rows[0].rstrip(" |").rsplit("| ", 1)[1] == PRINTED_LICENCES[name]


def test_there_are_python_blocks():
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize("block", [code for _, code in BLOCKS], ids=BLOCK_IDS)
def test_python_block_names_only_what_it_defines_or_imports(block):
    """Each block, copied alone, has no undefined name (ruff's F821): it imports what it uses."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "F821,F822,F823",
            "--stdin-filename",
            "block.py",
            "-",
        ],
        input=block,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("block", [code for _, code in BLOCKS], ids=BLOCK_IDS)
def test_python_block_runs_alone(block, tmp_path):
    """Each block runs in a fresh Python, from a folder that has only `docs/examples/`."""
    shutil.copytree(ROOT / "docs" / "examples", tmp_path / "docs" / "examples")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    environ["MPLBACKEND"] = "Agg"
    done = subprocess.run(
        [sys.executable, "-c", block],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stderr == "", done.stderr[-4000:]  # quiet by default: no log lines, no warnings
