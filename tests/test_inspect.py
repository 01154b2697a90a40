"""seqapps.inspect: exact replays of every cell's states and gates, and gradient flow through time."""

import numpy as np
import pytest
import tensorflow as tf

from seqapps import inspect
from seqapps.layers import RecurrentStack
from seqapps.tasks import TextClassifier

VECTORS = np.random.default_rng(0).normal(size=(1, 9, 3)).astype("float32")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_replayed_hidden_states_equal_the_layers_outputs(cell, num_layers, bidirectional):
    tf.keras.utils.set_random_seed(1)
    stack = RecurrentStack(cell, 5, num_layers, bidirectional, return_sequences=True)
    outputs = stack(VECTORS).numpy()[0]
    top = inspect.trace(stack, VECTORS)[-1]
    if bidirectional:
        replayed = np.concatenate([top["forward_h"], top["backward_h"]], axis=-1)
    else:
        replayed = top["h"]
    np.testing.assert_allclose(replayed, outputs, atol=1e-5)


def test_lstm_gates_and_cell_state_match_keras_final_states():
    tf.keras.utils.set_random_seed(2)
    stack = RecurrentStack("lstm", 4, return_state=True)
    _, (h, c) = stack(VECTORS)
    steps = inspect.trace(stack, VECTORS)[0]
    np.testing.assert_allclose(steps["h"][-1], h.numpy()[0], atol=1e-5)
    np.testing.assert_allclose(steps["c"][-1], c.numpy()[0], atol=1e-5)
    for gate in ("input_gate", "forget_gate", "output_gate"):
        assert steps[gate].shape == (9, 4) and 0 < steps[gate].min() and steps[gate].max() < 1


def test_gradient_through_a_linear_rnn_is_the_recurrent_weight_to_the_power_of_the_distance():
    # One unit, h_t = tanh(x_t + u h_{t-1}) at x = 0: dh_T/dx_{T-d} = u**d exactly.
    stack = RecurrentStack("rnn", 1)
    stack.build((None, 6, 1))
    stack.recurrent_layers[0].set_weights([np.ones((1, 1)), np.full((1, 1), 0.5), np.zeros(1)])
    norms = inspect.gradient_flow(stack, np.zeros((3, 6, 1), "float32"))
    np.testing.assert_allclose(norms, 0.5 ** np.arange(6), rtol=1e-6)


def test_a_model_is_inspected_through_what_it_feeds_its_stack():
    model = TextClassifier(["good", "bad", "movie"], ["neg", "pos"], cell="gru", units=4)
    norms = inspect.gradient_flow(model, ["good movie", "bad bad bad movie"])
    assert norms.shape == (4,) and np.all(np.isfinite(norms)) and np.all(norms > 0)
    steps = inspect.trace(model, ["good bad movie"])
    assert steps[0]["update_gate"].shape == (3, 4)  # one row per word, padding dropped
    with pytest.raises(ValueError, match="no RecurrentStack"):
        inspect.recurrent_stack(tf.keras.Sequential([tf.keras.layers.Dense(1)]))


def test_the_pictures_are_drawn(tmp_path):
    from seqapps import plots

    stack = RecurrentStack("gru", 3, return_sequences=True)
    curves = {"gru": inspect.gradient_flow(stack, VECTORS)}
    plots.gradient_flow_chart(curves, tmp_path / "flow.png")
    steps = inspect.trace(stack, VECTORS)[0]
    plots.state_heatmap(steps["update_gate"], list("abcdefghi"), tmp_path / "gates.png")
    for name in ("flow.png", "gates.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []  # saved pictures are not left open
    gates = plots.state_heatmap(steps["update_gate"], list("abcdefghi"))
    assert gates.axes[0].images[0].get_clim() == (0.0, 1.0)  # a gate is drawn on its own 0..1
    states = plots.state_heatmap(steps["h"] * 3, list("abcdefghi"))
    low, high = states.axes[0].images[0].get_clim()
    assert low == -high and high >= float(np.abs(steps["h"] * 3).max()) - 1e-6  # nothing clipped
    with pytest.raises(ValueError, match="10 steps"):
        plots.state_heatmap(steps["h"], list("abc") * 3 + ["extra"])


def test_the_command_line_writes_a_report(tmp_path, capsys):
    from seqapps.cli import main

    model = TextClassifier(["good", "bad", "movie"], ["neg", "pos"], cell="lstm", units=4)
    preset = str(model.save_preset(tmp_path / "tiny.keras"))
    out = tmp_path / "report"
    assert main(["inspect", preset, "--text", "good bad movie", "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    for picture in ("gradient_flow.png", "1-tiny-h.png", "1-tiny-forget_gate.png"):
        assert (out / picture).read_bytes()[:4] == b"\x89PNG" and picture in page
    assert main(["inspect", preset, "--text", "good", "--out", str(out)]) == 2  # not empty
    assert "not an empty folder" in capsys.readouterr().err


def test_find_units_finds_a_planted_unit_and_reads_a_play():
    stack = RecurrentStack("lstm", 6, return_sequences=True)
    states = inspect.trace(stack, VECTORS)[0]["h"]
    found = inspect.find_units(stack, VECTORS, {"planted": states[:, 4], "flat": np.ones(9)}, top=2)
    assert found["planted"][0] == (4, 1.0) and found["flat"] == []
    text = "ROMEO:\n[Aside] But soft!\n\nJULIET.\nAy me."
    features = inspect.character_features(text)
    assert features["speaker_name"][:7].all() and not features["speaker_name"][8:20].any()
    assert features["inside_brackets"][7:14].all() and features["after_newline"][7] == 1
    assert features["position_in_line"][9] == 2


def test_a_unit_colours_its_text(tmp_path):
    from seqapps import plots

    plots.unit_text("ab\ncd", [-1, 0, 0.5, 1, 0.2], tmp_path / "unit.png", title="unit 3")
    assert (tmp_path / "unit.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="one activation per character"):
        plots.unit_text("abc", [0.1])


def test_a_tagger_and_a_generator_are_inspected_from_raw_text():
    from seqapps.tasks import SequenceTagger, TextGenerator

    tagger = SequenceTagger(["the", "cat"], sorted(set("thecat.")), ["A", "B"], units=3)
    assert inspect.tokens(tagger, "The cat.") == ["The", "cat", "."]
    assert inspect.trace(tagger, ["The cat."])[0]["forward_h"].shape == (3, 3)
    norms = inspect.gradient_flow(tagger, ["The cat.", "cat"])
    assert norms.shape == (3,) and np.all(norms > 0)
    generator = TextGenerator(sorted(set("abc ")), units=4, embedding_dim=None, cell="gru")
    short, long = (inspect.gradient_flow(generator, [text]) for text in ("ab", "abcabc"))
    together = inspect.gradient_flow(generator, ["ab", "abcabc"])  # rows aligned, padding unread
    np.testing.assert_allclose(together[:2], (short + long[:2]) / 2, rtol=1e-5)
    np.testing.assert_allclose(together[2:], long[2:], rtol=1e-5)
    with pytest.raises(ValueError, match="at least one token"):
        inspect.gradient_flow(generator, ["ab", ""])


def test_a_decoder_is_replayed_from_the_state_its_encoder_hands_it():
    for cell in ("gru", "lstm"):
        stack = RecurrentStack(cell, 4, num_layers=2, return_sequences=True, return_state=True)
        state = [tf.random.stateless_normal((1, 4), (i, 1)) for i in range(len(stack.state_names))]
        outputs, _ = stack(VECTORS, initial_state=state)
        mask = tf.ones((1, 9), tf.bool)
        top = inspect._trace(stack, tf.constant(VECTORS), mask, state)[-1]
        np.testing.assert_allclose(top["h"], outputs.numpy()[0], atol=1e-5)


#: The zoo entries inspected in the default run: one per task, the three cells among them (the
#: cells and the bidirectional stacks of every task are replayed exactly by the tests above); every
#: other entry is inspected under `-m slow`.
INSPECTED_BY_DEFAULT = {
    "sentiment-rnn",
    "pos-brown-lstm",
    "caption-emoji-gru",
    "textgen-shakespeare-lstm",
    "translate-en-es-gru",
}


def zoo_entries():
    from seqapps.zoo import get_entry, list_models

    names = list_models()
    tasks = {get_entry(name).task for name in names}
    assert INSPECTED_BY_DEFAULT <= set(names)
    assert {get_entry(name).task for name in INSPECTED_BY_DEFAULT} == tasks
    return [
        pytest.param(name, marks=[] if name in INSPECTED_BY_DEFAULT else [pytest.mark.slow])
        for name in names
    ]


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from PIL import Image

    path = tmp_path_factory.mktemp("inspect") / "image.png"
    Image.fromarray(np.full((64, 64, 3), 200, "uint8")).save(path)
    return path


@pytest.mark.zoo
@pytest.mark.parametrize("name", zoo_entries())
def test_inspect_reads_a_zoo_entry(name, image, tmp_path, capsys):
    from seqapps.cli import main
    from seqapps.interface import declared_tasks
    from seqapps.zoo import get_entry

    reads = {task.task_name: task.interface.inputs for task in declared_tasks()}
    text = str(image) if reads[get_entry(name).task] == "image" else "God created the heaven."
    out = tmp_path / name
    assert main(["inspect", name, "--text", text, "--out", str(out)]) == 0, name
    assert (out / "gradient_flow.png").read_bytes()[:4] == b"\x89PNG"
    pictures = capsys.readouterr().out
    if name.startswith("translate"):  # an encoder and a decoder, with the gates of their cell
        cell = get_entry(name).architecture["cell"]
        gate = {"gru": "update_gate", "lstm": "forget_gate", "rnn": "h"}[cell]  # rnn: no gates
        assert (out / f"1-{name}-decoder-{gate}.png").exists(), pictures


@pytest.mark.zoo
def test_inspect_leaves_nothing_when_it_cannot_read_the_input(tmp_path, capsys):
    from seqapps.cli import main

    out, broken = tmp_path / "report", tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    assert main(["inspect", "caption-emoji-gru", "--text", str(broken), "--out", str(out)]) == 1
    assert "cannot be decoded as an image" in capsys.readouterr().err and not out.exists()
