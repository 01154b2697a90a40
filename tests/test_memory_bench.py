"""bench/memory.py at a tiny lag, so the long-range memory benchmark cannot rot."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

PATH = Path(__file__).resolve().parents[1] / "bench" / "memory.py"
spec = importlib.util.spec_from_file_location("memory_bench", PATH)
memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(memory)


def test_the_tasks_ask_what_they_say():
    rng = np.random.default_rng(0)
    x, y = memory.adding_batch(rng, 4, 12)
    assert x.shape == (4, 12, 2) and (x[..., 1].sum(axis=1) == 2).all()
    np.testing.assert_allclose(y[:, 0], (x[..., 0] * x[..., 1]).sum(axis=1), rtol=1e-6)
    x, y = memory.copy_batch(rng, 3, 7)
    assert x.shape == y.shape == (3, 10 + 7 + 10)
    assert (y[:, -10:] == x[:, :10]).all() and (x[:, 17] == 9).all() and (y[:, :-10] == 0).all()


@pytest.mark.slow
def test_the_table_runs_for_every_cell(capsys):
    results = memory.main(["--lags", "5", "--seeds", "1", "--steps", "3", "--units", "4"])
    assert set(results) == {(t, c, 5) for t in ("adding", "copy") for c in ("rnn", "lstm", "gru")}
    assert all(0 <= results["copy", c, 5][0] <= 1 for c in ("rnn", "lstm", "gru"))
    assert all(np.isfinite(results["adding", c, 5][0]) for c in ("rnn", "lstm", "gru"))
    assert "trivial 0.167" in capsys.readouterr().out
