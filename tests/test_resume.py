"""A fine-tuning run killed and resumed from its backup ends exactly as an unbroken run: the same
epochs, the same early stopping, the same selected weights."""

import json
import subprocess
import sys

import pytest

RUN = """
import hashlib, json, os, sys
import keras, numpy as np
from seqapps.tasks import TextClassifier

backup, kill_at = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
words = ["good", "bad", "movie", "not", "a", "!", ","]
texts = [" ".join(rng.choice(words, 4)) for _ in range(60)]
labels = rng.integers(0, 2, 60).tolist()  # noise: the validation loss turns up after a few epochs


class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == kill_at and batch == 1:
            os._exit(3)  # as a killed process: no cleanup, no exception handling


keras.utils.set_random_seed(0)
model = TextClassifier(words, ["negative", "positive"], cell="gru", units=8, embedding_dim=8)
history = model.finetune(texts, labels, epochs=12, batch_size=8, learning_rate=3e-2, patience=2,
                         backup_dir=backup, callbacks=[Kill()], verbose=0)
weights = np.concatenate([w.ravel() for w in model.get_weights()])
print(json.dumps({"last_epoch": history.epoch[-1], "val_loss": history.history["val_loss"],
                  "weights": hashlib.sha256(weights.tobytes()).hexdigest()}))
"""


def run(backup, kill_at):
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(backup), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout.strip().splitlines()[-1] if done.stdout.strip() else None


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    code, output = run(tmp_path_factory.mktemp("unbroken") / "backup", -1)
    assert code == 0
    result = json.loads(output)
    # The run this test needs: it stops early, two epochs after its best (epoch 9 of 12).
    assert result["last_epoch"] == 10 and min(result["val_loss"]) == result["val_loss"][8]
    return result


# Killed between the best epoch and the stop, the resumed run must keep the best weights and the
# early-stopping count as well as the data order; killed before the best (-m slow), less of that.
@pytest.mark.parametrize("kill_at", [pytest.param(3, marks=pytest.mark.slow), 9])
def test_a_killed_and_resumed_finetune_ends_as_the_unbroken_run(unbroken, tmp_path, kill_at):
    backup = tmp_path / "backup"
    assert run(backup, kill_at)[0] == 3
    code, output = run(backup, -1)
    assert code == 0
    resumed = json.loads(output)
    assert resumed["last_epoch"] == unbroken["last_epoch"]  # it stops where the unbroken run did
    assert (
        resumed["val_loss"] == unbroken["val_loss"][kill_at:]
    )  # the same epochs, the same data order
    assert resumed["weights"] == unbroken["weights"]  # the same selected (best) weights
    assert not backup.exists()
