"""The shared recurrent blocks are what their names say, numerically and as Keras layers."""

import keras
import numpy as np
import pytest

from seqapps.layers import RecurrentStack

RNG = np.random.default_rng(0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def run_stack(cell, x, **kwargs):
    stack = RecurrentStack(cell, units=4, return_sequences=True, **kwargs)
    outputs = keras.ops.convert_to_numpy(stack(x))
    return stack, outputs


def test_simple_rnn_is_the_lecture_formula():
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    stack, outputs = run_stack("rnn", x)
    w_xh, w_hh, b = stack.recurrent_layers[0].get_weights()
    h = np.zeros((2, 4))
    for t in range(5):
        h = np.tanh(x[:, t] @ w_xh + h @ w_hh + b)  # h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)
        np.testing.assert_allclose(outputs[:, t], h, atol=1e-5)


def test_lstm_matches_hand_computed_steps():
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    stack, outputs = run_stack("lstm", x)
    kernel, recurrent, bias = stack.recurrent_layers[0].get_weights()
    h = c = np.zeros((2, 4))
    for t in range(4):
        z = x[:, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)  # Keras's gate order: input, forget, cell, output
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        np.testing.assert_allclose(outputs[:, t], h, atol=1e-5)


def test_gru_matches_hand_computed_steps():
    x = RNG.normal(size=(2, 4, 3)).astype("float32")
    stack, outputs = run_stack("gru", x)
    kernel, recurrent, bias = stack.recurrent_layers[0].get_weights()
    input_bias, recurrent_bias = bias  # reset_after=True: separate input and recurrent biases
    h = np.zeros((2, 4))
    for t in range(4):
        xz, xr, xh = np.split(x[:, t] @ kernel + input_bias, 3, axis=-1)
        hz, hr, hh = np.split(h @ recurrent + recurrent_bias, 3, axis=-1)
        z = sigmoid(xz + hz)  # update gate
        r = sigmoid(xr + hr)  # reset gate
        candidate = np.tanh(xh + r * hh)
        h = z * h + (1 - z) * candidate
        np.testing.assert_allclose(outputs[:, t], h, atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stack_shapes_and_states(cell, bidirectional):
    stack = RecurrentStack(
        cell,
        units=6,
        num_layers=2,
        bidirectional=bidirectional,
        return_sequences=True,
        return_state=True,
    )
    outputs, states = stack(np.zeros((3, 7, 5), "float32"))
    width = 12 if bidirectional else 6
    assert tuple(outputs.shape) == (3, 7, width)
    assert len(states) == len(stack.state_names)
    assert len(states) == 2 * (2 if cell == "lstm" else 1) * (2 if bidirectional else 1)
    assert all(tuple(s.shape) == (3, 6) for s in states)


def test_final_states_continue_a_sequence():
    """Reading a sequence in two halves, passing the state on, equals reading it whole."""
    x = RNG.normal(size=(2, 8, 3)).astype("float32")
    stack = RecurrentStack("lstm", units=5, num_layers=2, return_sequences=True, return_state=True)
    whole, _ = stack(x)
    first, states = stack(x[:, :4])
    second, _ = stack(x[:, 4:], initial_state=states)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_stateful_stack_continues_across_calls_until_reset(cell):
    x = RNG.normal(size=(2, 8, 3)).astype("float32")
    whole = RecurrentStack(cell, units=5, num_layers=2, return_sequences=True)
    stateful = RecurrentStack(cell, units=5, num_layers=2, return_sequences=True, stateful=True)
    whole.build(x.shape)
    stateful.build(x.shape)
    stateful.set_weights(whole.get_weights())
    expected = keras.ops.convert_to_numpy(whole(x))
    halves = [keras.ops.convert_to_numpy(stateful(x[:, :4])), stateful(x[:, 4:])]
    np.testing.assert_allclose(np.concatenate(halves, axis=1), expected, atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(stateful(x[:, :4]), expected[:, :4], atol=1e-5)
    assert RecurrentStack.from_config(stateful.get_config()).stateful


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_right_padding_is_masked(cell):
    ids = np.array([[3, 4, 5, 0, 0], [3, 4, 5, 6, 7]])
    embedding = keras.layers.Embedding(10, 4, mask_zero=True)
    stack = RecurrentStack(cell, units=4, num_layers=2)
    padded = stack(embedding(ids))
    alone = stack(embedding(ids[:1, :3]))
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-5)


def test_config_round_trip_and_errors():
    stack = RecurrentStack("gru", units=3, num_layers=2, bidirectional=True, dropout=0.1)
    assert RecurrentStack.from_config(stack.get_config()).get_config() == stack.get_config()
    with pytest.raises(ValueError, match="unknown cell 'lstn'"):
        RecurrentStack("lstn")
    with pytest.raises(ValueError, match="initial_state must hold 2"):
        RecurrentStack("gru", units=3, num_layers=2)(
            np.zeros((1, 2, 3), "float32"), initial_state=[]
        )


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recurrent_gain_scales_the_starting_recurrent_weights(cell):
    stack = RecurrentStack(cell, units=6, num_layers=2, bidirectional=True, recurrent_gain=0.5)
    stack(np.zeros((1, 3, 4), "float32"))
    recurrent = [v for v in stack.weights if "recurrent_kernel" in v.path]
    assert len(recurrent) == 4
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    for variable in recurrent:
        kernel = keras.ops.convert_to_numpy(variable)
        # Keras draws one orthogonal matrix for all the gates together: its rows are orthogonal.
        np.testing.assert_allclose(kernel @ kernel.T, 0.25 * np.eye(6), atol=1e-5)
        assert kernel.shape == (6, 6 * gates)
    # Each layer and direction starts from its own matrix.
    first, *others = (keras.ops.convert_to_numpy(v) for v in recurrent)
    assert not any(np.allclose(first, other) for other in others)
    restored = RecurrentStack.from_config(stack.get_config())
    assert restored.recurrent_gain == 0.5
    for bad in (0, -1.0, float("nan"), float("inf"), True, "0.5"):
        with pytest.raises((ValueError, TypeError), match="recurrent_gain must be a positive"):
            RecurrentStack(cell, recurrent_gain=bad)


def test_stack_inside_a_saved_model(tmp_path):
    inputs = keras.Input((None, 3))
    outputs = RecurrentStack("lstm", units=4, bidirectional=True)(inputs)
    model = keras.Model(inputs, outputs)
    model.save(tmp_path / "m.keras")
    restored = keras.saving.load_model(tmp_path / "m.keras")
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    np.testing.assert_allclose(
        restored.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6
    )
