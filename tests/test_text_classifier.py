"""TextClassifier on a tiny config: the shared harness plus what classify promises."""

import json
import subprocess
import sys

import numpy as np
import pytest

from harness import (
    assert_batch_independent,
    assert_config_round_trip,
    assert_predict_accepts_tf_data,
    assert_preset_round_trip,
    assert_same_outputs,
    load_export_without_seqapps,
)
from seqapps.tasks import Task, TextClassifier
from seqapps.tasks.heads import reordered
from seqapps.tasks.text_classifier import adversarial_perturbation

TEXTS = ["a good movie!", "bad", "", "not good, not bad at all"]
VOCABULARY = ["good", "bad", "movie", "not", "a", "!", ","]
# A small problem a tiny model learns exactly: negation flips the word's label.
LEARNABLE_TEXTS = ["a good movie", "good !", "bad", "a bad movie", "not bad", "not good"] * 20
LEARNABLE_LABELS = [1, 1, 0, 0, 1, 0] * 20


@pytest.fixture(scope="module", params=["last", "max", "mean"])
def model(request):
    """What a pooling changes (outputs, config, presets, the export) is checked for each."""
    return TextClassifier(
        VOCABULARY,
        ["negative", "positive"],
        cell="gru",
        units=4,
        embedding_dim=4,
        pooling=request.param,
    )


@pytest.fixture(scope="module")
def tiny():
    """For what no pooling changes: input rules, file handling, relabelling, option checks."""
    return TextClassifier(
        VOCABULARY, ["negative", "positive"], cell="gru", units=4, embedding_dim=4
    )


def test_config_round_trip(model):
    clone = assert_config_round_trip(model)
    assert_same_outputs(clone.predict(TEXTS, verbose=0), model.predict(TEXTS, verbose=0))


def test_padding_does_not_change_answers(model):
    assert_batch_independent(model, TEXTS)


def test_predict_takes_tf_data(model):
    assert_predict_accepts_tf_data(model, TEXTS)


def test_preset_round_trip(model, tmp_path):
    assert_preset_round_trip(model, TEXTS, tmp_path)


def test_export_serves_raw_strings_without_seqapps(model, tmp_path):
    model.export(tmp_path / "export")
    served = load_export_without_seqapps(tmp_path / "export", TEXTS)
    probabilities = model.predict(TEXTS, verbose=0)
    assert_same_outputs(served["probabilities"], probabilities)
    assert served["label_ids"] == probabilities.argmax(-1).tolist()
    assert served["labels"] == [model.labels[i] for i in probabilities.argmax(-1)]
    assert (tmp_path / "export" / "assets" / "labels.txt").read_text().split() == model.labels


def test_export_replaces_an_earlier_export_whole(tiny, tmp_path):
    target = tiny.export(tmp_path / "export")
    (target / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError, match="stale.txt, which the export did not write"):
        tiny.export(target, overwrite=True)  # a user's file inside is never removed unasked
    assert (target / "stale.txt").read_text() == "old"
    (target / "stale.txt").unlink()
    tiny.export(target, overwrite=True)
    assert (target / "saved_model.pb").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no staging leftovers


def test_classify_returns_label_and_score(model):
    single = model.classify("a good movie")
    assert set(single) == {"label", "score"}
    assert single["label"] in model.labels
    results = model.classify(TEXTS, all_scores=True)
    probabilities = model.predict(TEXTS, verbose=0)
    for result, row in zip(results, probabilities):
        assert result["score"] == pytest.approx(row.max())
        assert result["scores"] == pytest.approx(dict(zip(model.labels, row.tolist())))
        assert result["label"] == max(result["scores"], key=result["scores"].get)


def test_classify_input_rules(tiny):
    assert tiny.classify([]) == []
    assert tiny.classify([b"good"]) == tiny.classify(["good"])
    assert tiny.classify(["   "]) == tiny.classify([""])  # no words: the model's prior
    long_text = " ".join(["good"] * 1000)
    assert tiny.classify(long_text) == tiny.classify(" ".join(["good"] * tiny.max_length))
    with pytest.raises(TypeError, match="got None"):
        tiny.classify(None)
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        tiny.classify(["fine", 3])
    with pytest.raises(TypeError, match=r"texts\[0\] is NoneType"):
        tiny.classify([None])
    with pytest.raises(ValueError, match=r"texts\[0\] is not valid UTF-8"):
        tiny.classify([b"\xff\xfe bad"])


def test_fit_takes_label_names_and_refuses_unknown_ones():
    model = TextClassifier(VOCABULARY, ["negative", "positive"], units=4, embedding_dim=4)
    model.fit(["good", "bad"], ["positive", "negative"], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels \['neutral'\] in the data are not among"):
        model.fit(["good"], ["neutral"], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="label ids must lie in 0..1"):
        model.fit(["good"], [2], epochs=1, verbose=0)


def test_new_labels_get_a_fresh_head_on_the_pretrained_layers(tiny, tmp_path):
    path = tiny.save_preset(tmp_path / "p.keras")
    relabelled = TextClassifier.from_preset(path, labels=["bad", "okay", "good"])
    assert relabelled.labels == ["bad", "okay", "good"]
    assert relabelled.get_layer("head").get_weights()[0].shape == (4, 3)
    for name in ("embedding", "encoder"):
        for new, old in zip(
            relabelled.get_layer(name).get_weights(), tiny.get_layer(name).get_weights()
        ):
            np.testing.assert_array_equal(new, old)
    with pytest.raises(TypeError, match="has no argument"):
        Task.from_preset(path, num_clases=3)
    with pytest.raises(ValueError, match="weight shapes change"):
        Task.from_preset(path, units=8)


def test_the_same_labels_in_another_order_keep_the_trained_head(tiny, tmp_path):
    path = tiny.save_preset(tmp_path / "p.keras")
    texts = ["a good movie!", "bad", "not good, not bad at all"]
    before = tiny.predict(texts, verbose=0)
    swapped = TextClassifier.from_preset(path, labels=["positive", "negative"])
    assert swapped.labels == ["positive", "negative"]
    np.testing.assert_allclose(swapped.predict(texts, verbose=0), before[:, ::-1], atol=1e-6)
    assert swapped.classify("a good movie!")["score"] == pytest.approx(before[0].max(), abs=1e-6)
    # Names read from a generator, and ids for names that are numbers, are the same names.
    again = TextClassifier.from_preset(path, labels=(name for name in ["positive", "negative"]))
    np.testing.assert_allclose(again.predict(texts, verbose=0), before[:, ::-1], atol=1e-6)
    numbered = tiny.reconfigure(labels=["0", "1"])  # other names: a fresh head
    swapped = numbered.reconfigure(labels=[1, 0])
    assert swapped.labels == ["1", "0"]
    np.testing.assert_allclose(
        swapped.predict(texts, verbose=0), numbered.predict(texts, verbose=0)[:, ::-1], atol=1e-6
    )


def test_a_head_whose_weights_do_not_end_on_its_outputs_is_not_reordered():
    kernel, bias = np.arange(6.0).reshape(3, 2), np.array([0.0, 1.0])
    np.testing.assert_array_equal(reordered([kernel, bias], [1, 0])[0], kernel[:, ::-1])
    with pytest.raises(ValueError, match="cannot be reordered"):
        reordered([kernel.T, bias], [1, 0])


def test_labels_given_as_one_string_are_refused():
    with pytest.raises(TypeError, match="must be a list of names, got the string 'abc'"):
        TextClassifier(VOCABULARY, "abc")
    with pytest.raises(ValueError, match="at least two distinct names; 'good' is repeated"):
        TextClassifier(VOCABULARY, ["good", "good"])
    with pytest.raises(TypeError, match="labels must be a list of names, got None"):
        TextClassifier(VOCABULARY, None)


@pytest.mark.parametrize("adversarial_epsilon", [0.0, 0.2])
def test_finetune_learns_a_new_three_class_problem(adversarial_epsilon):
    rng = np.random.default_rng(0)
    words = {
        "bad": ["awful", "bad", "poor"],
        "okay": ["fine", "okay", "average"],
        "good": ["great", "good", "superb"],
    }
    subjects = ["film", "plot", "cast", "score", "ending"]
    vocabulary = [w for ws in words.values() for w in ws] + ["the", "was", *subjects]
    texts, labels = [], []
    for _ in range(240):  # 45 different texts: the held-out ones are not all of one word's
        label = rng.choice(list(words))
        texts.append(f"the {rng.choice(subjects)} was {rng.choice(words[label])}")
        labels.append(str(label))
    model = TextClassifier(vocabulary, ["negative", "positive"], units=8, embedding_dim=8)
    model = model.reconfigure(labels=list(words))
    model.finetune(
        texts[:200],
        labels[:200],
        epochs=30,
        learning_rate=1e-2,
        patience=5,
        verbose=0,
        adversarial_epsilon=adversarial_epsilon,
    )
    assert model.adversarial_epsilon == adversarial_epsilon
    predicted = [r["label"] for r in model.classify(texts[200:])]
    accuracy = np.mean([p == t for p, t in zip(predicted, labels[200:])])
    assert accuracy > 0.8  # chance is 1/3


def test_adversarial_perturbation_is_epsilon_times_the_text_and_spares_padding():
    rng = np.random.default_rng(0)
    gradient = rng.normal(size=(3, 5, 4)).astype("float32")
    vectors = rng.normal(size=(3, 5, 4)).astype("float32")
    mask = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]], bool)
    perturbation = adversarial_perturbation(gradient, vectors, mask, 0.2).numpy()
    text_norms = np.linalg.norm(vectors * mask[..., None], axis=(1, 2))
    np.testing.assert_allclose(
        np.linalg.norm(perturbation, axis=(1, 2)), 0.2 * text_norms, rtol=1e-5
    )
    assert not perturbation[~mask].any()
    # Along the gradient of the real words: the direction that raises the loss most.
    real = (gradient * mask[..., None])[0].ravel()
    cosine = (
        perturbation[0].ravel() @ real / (np.linalg.norm(perturbation[0]) * np.linalg.norm(real))
    )
    assert cosine == pytest.approx(1.0)


def test_adversarial_training_adds_the_loss_of_the_worst_nearby_vectors():
    import keras

    texts = np.array(["a good movie", "bad", "", "not good"], dtype=object)
    labels = np.array([1, 0, 0, 0])
    model = TextClassifier(VOCABULARY, ["negative", "positive"], units=4, embedding_dim=4)
    clean = model.evaluate(texts, labels, verbose=0)[0]
    still = keras.optimizers.SGD(learning_rate=0.0)  # the weights stay put
    model.compile(optimizer=still, adversarial_epsilon=0.0)
    assert model.train_on_batch(texts, labels)[0] == pytest.approx(clean, rel=1e-5)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), adversarial_epsilon=0.5)
    # clean loss + the loss on vectors moved uphill, which is the larger of the two
    assert model.train_on_batch(texts, labels)[0] > 2 * clean
    with pytest.raises(ValueError, match="adversarial_epsilon must be 0 or more"):
        model.compile(adversarial_epsilon=-1.0)


# The default run sees adversarial training learn this problem exactly under the two-replica
# strategy (test_fit_under_a_mirrored_strategy_with_two_replicas, epsilon 0.2) and learn a
# three-class problem in one process (test_finetune_learns_a_new_three_class_problem[0.2]).
@pytest.mark.slow
def test_adversarial_training_learns():
    import keras

    keras.utils.set_random_seed(0)
    texts, labels = LEARNABLE_TEXTS, LEARNABLE_LABELS
    model = TextClassifier(VOCABULARY, ["negative", "positive"], units=8, embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), adversarial_epsilon=0.2)
    model.fit(texts, labels, epochs=15, batch_size=8, verbose=0)
    predicted = [r["label"] for r in model.classify(texts[:6])]
    assert predicted == [model.labels[label] for label in labels[:6]]


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="at least two distinct"):
        TextClassifier(VOCABULARY, ["only"])
    with pytest.raises(ValueError, match="pooling must be one of"):
        TextClassifier(VOCABULARY, ["a", "b"], pooling="attention")


def test_a_failed_save_or_export_leaves_the_previous_files(tiny, tmp_path, monkeypatch):
    import keras

    preset = tiny.save_preset(tmp_path / "p.keras")
    export = tiny.export(tmp_path / "export")
    preset_bytes = preset.read_bytes()
    exported = sorted(p.name for p in export.iterdir())

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", fail)
    # ExportArchive() returns the backend's subclass; patch the class actually used.
    monkeypatch.setattr(type(keras.export.ExportArchive()), "write_out", fail)
    with pytest.raises(OSError, match="disk full"):
        tiny.save_preset(preset, overwrite=True)
    with pytest.raises(OSError, match="disk full"):
        tiny.export(export, overwrite=True)
    assert preset.read_bytes() == preset_bytes
    assert sorted(p.name for p in export.iterdir()) == exported
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "p.keras"]  # no leftovers


MIRRORED_FIT = """
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
from seqapps.tasks import TextClassifier

keras.utils.set_random_seed(0)
texts, labels = np.array(LEARNABLE_TEXTS), np.array(LEARNABLE_LABELS)
data = tf.data.Dataset.from_tensor_slices((texts.astype(object), labels)).batch(8)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
results = {"replicas": strategy.num_replicas_in_sync}
for epsilon in (0.0, 0.2):
    with strategy.scope():
        model = TextClassifier(VOCABULARY, ["negative", "positive"], units=8, embedding_dim=8)
        model.compile(optimizer=keras.optimizers.Adam(1e-2), adversarial_epsilon=epsilon)
    model.fit(data, epochs=10, verbose=0)  # exact from the 7th epoch (4th with epsilon)
    results[str(epsilon)] = model.evaluate(data, verbose=0, return_dict=True)["accuracy"]
print(json.dumps(results))
"""


def test_fit_under_a_mirrored_strategy_with_two_replicas():
    # A fresh process: the two logical CPUs must be set before TensorFlow starts.
    code = (
        f"VOCABULARY = {VOCABULARY!r}\nLEARNABLE_TEXTS = {LEARNABLE_TEXTS!r}\n"
        f"LEARNABLE_LABELS = {LEARNABLE_LABELS!r}\n" + MIRRORED_FIT
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results == {"replicas": 2, "0.0": 1.0, "0.2": 1.0}


def test_predict_names_a_bad_item_and_takes_numpy_strings(tiny):
    with pytest.raises(TypeError, match=r"x\[1\] is NoneType"):
        tiny.predict(["good", None], verbose=0)
    words = np.array(["a good movie", "bad"])  # dtype <U12, as NumPy makes it
    assert_same_outputs(tiny.predict(words, verbose=0), tiny.predict(list(words), verbose=0))


def test_fractional_or_missing_label_ids_are_refused_naming_the_row(tiny):
    with pytest.raises(ValueError, match="row 1 has 0.7"):
        tiny._raw_targets([1.0, 0.7])
    with pytest.raises(ValueError, match="row 0 has nan"):
        tiny._raw_targets([float("nan"), 1.0])


def test_a_single_label_set_warns(tiny):
    with pytest.warns(UserWarning, match="every target is 1"):
        tiny.finetune(["good", "fine", "great"] * 3, [1] * 9, epochs=1, verbose=0)


def test_finetune_on_no_examples_says_so(tiny):
    with pytest.raises(ValueError, match="needs at least one example; got 0"):
        tiny.finetune([], [], epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"no targets: pass them second.*pandas DataFrame"):
        tiny.finetune(["good", "bad"], epochs=1, verbose=0)


@pytest.mark.parametrize("batch_size", [0, -1, True])
def test_batch_sizes_below_one_are_refused_by_name(tiny, batch_size):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        tiny.classify(["good"], batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        tiny.finetune(["good", "bad"] * 3, [1, 0] * 3, batch_size=batch_size)


def test_learning_rate_nan_and_lone_surrogates_are_refused_by_name(tiny):
    with pytest.raises(ValueError, match="learning_rate must be a positive number, got nan"):
        tiny.finetune(["good", "bad"] * 3, [1, 0] * 3, learning_rate=float("nan"))
    with pytest.raises(ValueError, match=r"texts\[1\] holds '\\ud800' at position 2"):
        tiny.classify(["fine", "ok\ud800"])


KILLED_FINETUNE = """
import json, os, sys
import keras
from seqapps.tasks import TextClassifier
texts, labels, kill_at = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[4])

class Kill(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == kill_at and batch == 1:
            os._exit(3)  # as a killed process: no cleanup, no exception handling

keras.utils.set_random_seed(0)
model = TextClassifier(json.loads(sys.argv[5]), ["negative", "positive"], cell="gru", units=4,
                       embedding_dim=4)
history = model.finetune(texts, labels, epochs=5, batch_size=8, learning_rate=1e-2, patience=99,
                         backup_dir=sys.argv[3], callbacks=[Kill()], verbose=0)
print(json.dumps({"epochs": history.epoch, "answer": model.classify("a good movie")["label"]}))
"""


# tests/test_resume.py kills and resumes the same finetune by default, comparing more (every
# epoch's val_loss and the weights' sha256); this whole-task version runs under -m slow.
@pytest.mark.slow
def test_a_killed_finetune_resumes_from_its_backup(tmp_path):
    backup = tmp_path / "backup"
    arguments = [json.dumps(LEARNABLE_TEXTS[:48]), json.dumps(LEARNABLE_LABELS[:48]), str(backup)]
    run = [sys.executable, "-c", KILLED_FINETUNE, *arguments]
    vocabulary = json.dumps(VOCABULARY)
    killed = subprocess.run([*run, "2", vocabulary], capture_output=True, text=True, timeout=300)
    assert killed.returncode == 3, killed.stderr[-2000:]
    assert any(backup.iterdir())  # epochs 0 and 1 are saved
    resumed = subprocess.run([*run, "-1", vocabulary], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["epochs"] == [2, 3, 4]  # the same five epochs in all, from where it stopped
    # The weights it ends with are the unbroken run's (tests/test_resume.py compares them exactly).
    unbroken_run = [*run[:-1], str(tmp_path / "unbroken"), "-1", vocabulary]
    unbroken = subprocess.run(unbroken_run, capture_output=True, text=True, timeout=300)
    assert result["answer"] == json.loads(unbroken.stdout.strip().splitlines()[-1])["answer"]


MULTI_WORKER_FIT = """
import json, os, sys
ports, index = json.loads(sys.argv[1]), int(sys.argv[2])
if index >= 0:
    workers = [f"127.0.0.1:{port}" for port in ports]
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
    )
import keras, numpy as np, tensorflow as tf
from seqapps.tasks import TextClassifier

keras.utils.set_random_seed(0)
strategy = tf.distribute.MultiWorkerMirroredStrategy() if index >= 0 else tf.distribute.get_strategy()
texts, labels = np.array(LEARNABLE_TEXTS, dtype=object), np.array(LEARNABLE_LABELS)
data = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(8)
options = tf.data.Options()
options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
data = data.with_options(options)
with strategy.scope():
    model = TextClassifier(VOCABULARY, ["negative", "positive"], units=8, embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
model.fit(data, epochs=15, verbose=0)
accuracy = model.evaluate(data, verbose=0, return_dict=True)["accuracy"]
answers = [r["label"] for r in model.classify(["not bad", "a good movie", "bad", "not good"])]
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "accuracy": float(np.ravel(accuracy)[0]),
                  "answers": answers}))
"""


# The default run checks distributed fitting in one process (two replicas, a MirroredStrategy,
# above); two worker processes that train together over loopback run under -m slow.
@pytest.mark.slow
def test_fit_with_two_worker_processes_on_loopback_as_in_one_process():
    import socket

    sockets = [socket.socket() for _ in range(2)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = json.dumps([s.getsockname()[1] for s in sockets])
    for s in sockets:
        s.close()
    code = (
        f"VOCABULARY = {VOCABULARY!r}\nLEARNABLE_TEXTS = {LEARNABLE_TEXTS!r}\n"
        f"LEARNABLE_LABELS = {LEARNABLE_LABELS!r}\n" + MULTI_WORKER_FIT
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", code, ports, str(index)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in (0, 1)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    alone = subprocess.run(
        [sys.executable, "-c", code, ports, "-1"], capture_output=True, text=True, timeout=300
    )
    assert alone.returncode == 0, alone.stderr[-3000:]
    single = json.loads(alone.stdout.strip().splitlines()[-1])
    assert [r["replicas"] for r in results] == [2, 2] and single["replicas"] == 1
    assert results[0] == results[1]  # the workers hold one model
    expected = ["positive", "positive", "negative", "negative"]
    assert results[0]["answers"] == single["answers"] == expected
    assert results[0]["accuracy"] == single["accuracy"] == 1.0
