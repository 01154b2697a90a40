"""The README's zoo table says what the cards say."""

from pathlib import Path

import pytest

from seqapps.zoo import get_entry, list_models

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", list_models())
def test_zoo_table_row_matches_the_card(name):
    rows = [line for line in README.splitlines() if line.startswith(f"| `{name}` |")]
    assert len(rows) == 1, f"README needs one zoo table row for {name}"
    metric, value = get_entry(name).headline_metric()
    shown = f"{value:.3f}" if value < 5 else f"{value:.2f}"  # accuracy 0.776, bpc 1.996, BLEU 29.63
    assert shown in rows[0], f"README row for {name} should show test {metric} {shown}"
    assert f"{get_entry(name).num_parameters:,}" in rows[0]
