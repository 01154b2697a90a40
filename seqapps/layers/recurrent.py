"""The recurrent stack every seqapps task is built from."""

import keras

from seqapps.checks import check_float

CELLS = {
    "rnn": keras.layers.SimpleRNN,
    "lstm": keras.layers.LSTM,
    "gru": keras.layers.GRU,
}


@keras.saving.register_keras_serializable(package="seqapps")
class RecurrentStack(keras.layers.Layer):
    """A stack of SimpleRNN, LSTM or GRU layers, optionally bidirectional.

    The cell type is a config value, so comparing a plain RNN with the gated cells
    is a change of one argument. Each layer is Keras's own (`keras.layers.LSTM`,
    ...), left with its default activations and no recurrent dropout so that it
    stays eligible for the fused cuDNN kernel on a GPU. Masks from an
    `Embedding(mask_zero=True)` are honoured; pad on the right.

    Args:
        cell: `"rnn"` (SimpleRNN, `h_t = tanh(W_xh x_t + W_hh h_{t-1} + b)`),
            `"lstm"` or `"gru"`.
        units: hidden size of each layer (per direction).
        num_layers: depth of the stack.
        bidirectional: read each layer's input both ways and concatenate.
        dropout: dropout rate on the inputs of every layer (not recurrent
            dropout, which would rule out cuDNN).
        return_sequences: return the last layer's output at every step
            (`[batch, time, features]`) instead of only the final one.
        return_state: also return the final states of every layer, flat, in
            the order `state_names` gives; pass the same list back as
            `initial_state` to continue from where a call stopped.
        stateful: keep the final states between calls, so that consecutive
            batches continue each other's rows (truncated backpropagation
            through time); needs a fixed batch size, `reset_state()` starts over.
        recurrent_gain: scale of the orthogonal matrix each layer's recurrent
            weights start from (1.0 is Keras's default). Below 1 a SimpleRNN
            starts out forgetting: each step shrinks the past state, so the
            current input counts for more. The SimpleRNN translator learns
            only from such a start (0.5; the README's "Which cell" section
            has the measurements). Only the starting weights change.

    Example:

    >>> import numpy as np
    >>> stack = RecurrentStack("gru", units=8, num_layers=2)
    >>> stack(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 8])
    """

    def __init__(
        self,
        cell="lstm",
        units=128,
        num_layers=1,
        bidirectional=False,
        dropout=0.0,
        return_sequences=False,
        return_state=False,
        stateful=False,
        recurrent_gain=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(CELLS)}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        self.cell = cell
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.stateful = stateful
        self.recurrent_gain = check_float(recurrent_gain, "recurrent_gain", low=0, open_low=True)
        self.supports_masking = True

        self.recurrent_layers = []
        for index in range(num_layers):
            initializer = {}
            if self.recurrent_gain != 1.0:  # at 1.0 Keras's own "orthogonal", as before
                initializer["recurrent_initializer"] = keras.initializers.Orthogonal(
                    self.recurrent_gain
                )
            layer = CELLS[cell](
                units,
                dropout=dropout,
                return_sequences=True if index < num_layers - 1 else return_sequences,
                return_state=True,
                stateful=stateful,
                name=f"{cell}_{index}",
                **initializer,
            )
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{index}")
            self.recurrent_layers.append(layer)

    def reset_state(self):
        """Zeroes the kept states of a `stateful` stack."""
        for layer in self.recurrent_layers:
            layer.reset_state()

    @property
    def states_per_layer(self):
        return (2 if self.cell == "lstm" else 1) * (2 if self.bidirectional else 1)

    @property
    def state_names(self):
        """Names of the flat state list: e.g. `["h_0", "c_0", "h_1", "c_1"]`."""
        parts = ["h", "c"] if self.cell == "lstm" else ["h"]
        directions = ["forward_", "backward_"] if self.bidirectional else [""]
        return [
            f"{direction}{part}_{index}"
            for index in range(self.num_layers)
            for direction in directions
            for part in parts
        ]

    def build(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.recurrent_layers:
            layer.build(shape)
            width = self.units * (2 if self.bidirectional else 1)
            shape = shape[:-1] + (width,)
        self.built = True

    def call(self, inputs, initial_state=None, mask=None, training=None):
        per_layer = self.states_per_layer
        if initial_state is not None and len(initial_state) != per_layer * self.num_layers:
            raise ValueError(
                f"initial_state must hold {per_layer * self.num_layers} tensors "
                f"({self.state_names}), got {len(initial_state)}"
            )
        outputs = inputs
        final_states = []
        for index, layer in enumerate(self.recurrent_layers):
            state = None
            if initial_state is not None:
                state = list(initial_state[index * per_layer : (index + 1) * per_layer])
            outputs, *states = layer(outputs, initial_state=state, mask=mask, training=training)
            final_states.extend(states)
        if self.return_state:
            return outputs, final_states
        return outputs

    def compute_mask(self, inputs, mask=None):
        if not self.return_sequences:
            return None if not self.return_state else [None] * (1 + len(self.state_names))
        if self.return_state:
            return [mask] + [None] * len(self.state_names)
        return mask

    def compute_output_shape(self, input_shape):
        width = self.units * (2 if self.bidirectional else 1)
        if self.return_sequences:
            output_shape = tuple(input_shape[:-1]) + (width,)
        else:
            output_shape = (input_shape[0], width)
        if not self.return_state:
            return output_shape
        state_shapes = [(input_shape[0], self.units)] * len(self.state_names)
        return output_shape, state_shapes

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "cell": self.cell,
                "units": self.units,
                "num_layers": self.num_layers,
                "bidirectional": self.bidirectional,
                "dropout": self.dropout,
                "return_sequences": self.return_sequences,
                "return_state": self.return_state,
                "stateful": self.stateful,
                "recurrent_gain": self.recurrent_gain,
            }
        )
        return config
