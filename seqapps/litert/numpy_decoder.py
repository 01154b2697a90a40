"""A translator's numbers for one input at a time, in NumPy: no interpreter call per piece.

At batch 1 a LiteRT `step` call spends much of its time outside the arithmetic:
every call resizes, allocates and copies its inputs (the encoder's memory and
keys included) and copies the logits out; a translation writes ~40 pieces. And
the `encode` signature runs the source through WHILE loops padded to a power of
two. Here the same arithmetic runs in a few NumPy calls per step, over float32
weights the export writes beside its `.tflite` files (`decoder.npz`): the
source's recurrent encoder (both directions in one product per step, its input
projection for the whole source in one product) and the bridge; then per piece
the decoder's cells, the attention over the memory (its keys made once per
input), the residual, the layer norm and the output layer. Where the encoder is
not one computed here, LiteRT's `encode` hands over the memory (`start`). Only
the float32 variant reads it; int8 stays in LiteRT. The decoder is the shared
`AttentionDecoder`, so a captioner's would run too, but there the time is the
image encoder's convolutions and a step measured no faster than the interpreter's.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from seqapps.litert.numpy_tagger import OneBlasThread

#: Written beside `model.tflite` when the model's layers are the ones computed here.
ARRAYS_FILE = "decoder.npz"
#: Gates per cell: the width of a cell's kernel in units.
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
#: Target tokens whose first-layer gate inputs are kept.
KEPT_TOKENS = 20_000


def _cell_arrays(cell, prefix):
    """A Keras cell's weights as `prefix_{kernel, recurrent, input_bias, recurrent_bias}`, or None
    where its arithmetic is not the one `_step` computes."""
    kind = {"SimpleRNNCell": "rnn", "GRUCell": "gru", "LSTMCell": "lstm"}.get(type(cell).__name__)
    if (
        kind is None
        or not cell.use_bias
        or cell.activation.__name__ != "tanh"
        or (kind != "rnn" and cell.recurrent_activation.__name__ != "sigmoid")
        or (kind == "gru" and not cell.reset_after)
    ):
        return None
    bias = np.asarray(cell.bias, np.float32)
    input_bias, recurrent_bias = (bias[0], bias[1]) if kind == "gru" else (bias, 0 * bias)
    return kind, {
        f"{prefix}_kernel": cell.kernel,
        f"{prefix}_recurrent": cell.recurrent_kernel,
        f"{prefix}_input_bias": input_bias,
        f"{prefix}_recurrent_bias": recurrent_bias,
    }


def _stack_arrays(stack, prefix):
    """A `RecurrentStack`'s cells per layer and direction, or None."""
    arrays, kinds = {}, set()
    for index, layer in enumerate(stack.recurrent_layers):
        parts = (
            [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
            if isinstance(layer, keras.layers.Bidirectional)
            else [("forward", layer)]
        )
        for direction, part in parts:
            found = _cell_arrays(part.cell, f"{prefix}_{index}_{direction}")
            if found is None:
                return None
            kinds.add(found[0])
            arrays.update(found[1])
    if len(kinds) != 1:
        return None
    arrays[f"{prefix}_cell"] = np.array(kinds.pop())
    return arrays


def _table(embedding):
    return embedding.embeddings if type(embedding) is keras.layers.Embedding else None


def decoder_arrays(model):
    """The float32 weights `NumpyDecoder` needs, or None where the model's layers differ from
    the ones it computes (then the runtime calls the interpreter)."""
    decoder, head = model.get_layer("decoder"), model.get_layer("head")
    target = _table(model.get_layer("target_embedding"))
    stack = _stack_arrays(decoder.stack, "decoder")
    if target is None or stack is None or head.get_config()["activation"] != "linear":
        return None
    attention = decoder.attention
    arrays = {
        **stack,
        "target_embedding": target,
        "norm_gamma": decoder.norm.gamma,
        "norm_beta": decoder.norm.beta,
        "norm_epsilon": np.array(decoder.norm.epsilon),
        "head_kernel": head.kernel,
        "head_bias": head.bias,
        "attention": np.array("none" if attention is None else attention.kind),
    }
    if decoder.norm.rms_scaling or not decoder.norm.center or not decoder.norm.scale:
        return None
    if attention is not None:
        arrays["context_kernel"] = decoder.context_projection.kernel
        projection = attention.memory_projection
        arrays["attention_memory_kernel"] = projection.kernel
        arrays["attention_memory_bias"] = (
            projection.bias if projection.use_bias else np.zeros(projection.units, np.float32)
        )
        if attention.kind == "additive":
            arrays["attention_query"] = attention.query_projection.kernel
            arrays["attention_score"] = attention.score_vector.kernel[:, 0]
    if model.task_name == "translation":
        arrays.update(_source_arrays(model) or {})
    return {
        name: value
        if isinstance(value, np.ndarray) and value.dtype.kind == "U"
        else np.asarray(value, np.float32)
        for name, value in arrays.items()
    }


def _source_arrays(model):
    """A translator's source embedding, encoder and bridge; None leaves encoding to LiteRT."""
    table = _table(model.get_layer("source_embedding"))
    encoder, bridge = model.get_layer("encoder"), model.get_layer("bridge")
    stack = _stack_arrays(encoder, "encoder")
    if table is None or stack is None:
        return None
    arrays = {**stack, "source_embedding": table}
    for index, (part, projection) in enumerate(zip(bridge._parts, bridge.projections)):
        arrays[f"bridge_{index}_kernel"] = projection.kernel
        arrays[f"bridge_{index}_bias"] = projection.bias
        arrays[f"bridge_{index}_sources"] = np.array(bridge.sources[part], np.float32)
        arrays[f"bridge_{index}_tanh"] = np.array(part == "h", np.float32)
    return arrays


def _stacked(arrays, prefix, index):
    """One layer's weights with the directions stacked: kernel `[in, D * G]`, input bias `[D, 1, G]`,
    recurrent `[D, u, G]`, recurrent bias `[D, 1, G]`. The sigmoid gates' columns are halved
    (exact in binary): then sigmoid(x) = (tanh(x / 2) + 1) / 2 costs one tanh for them all."""
    names = [d for d in ("forward", "backward") if f"{prefix}_{index}_{d}_kernel" in arrays]
    cell = str(arrays[f"{prefix}_cell"])
    part = {p: [_halved(arrays[f"{prefix}_{index}_{d}_{p}"], cell) for d in names] for p in _PARTS}
    return (
        np.concatenate(part["kernel"], axis=-1),
        np.stack(part["input_bias"])[:, None],
        np.stack(part["recurrent"]),
        np.stack(part["recurrent_bias"])[:, None],
    )


_PARTS = ("kernel", "input_bias", "recurrent", "recurrent_bias")


def _halved(matrix, cell):
    """Keras's gate columns (GRU `[z, r, h]`, LSTM `[i, f, c, o]`) with the sigmoid ones halved."""
    units = matrix.shape[-1] // GATES[cell]
    scale = np.ones(matrix.shape[-1], np.float32)
    if cell == "gru":
        scale[: 2 * units] = 0.5
    elif cell == "lstm":
        scale[: 2 * units] = scale[3 * units :] = 0.5
    return (matrix * scale).astype(np.float32)


def _sigmoid_of_halved(x):
    """sigmoid(2 x), in place."""
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def _step(kind, inputs, state, recurrent, recurrent_bias):
    """One step of `D` cells at once: `inputs` `[D, 1, G]` (the input projection and bias),
    `state` a list of `[D, 1, u]`; Keras's cell arithmetic. Returns the new state list."""
    h = state[0]
    inner = h @ recurrent
    if kind == "rnn":
        inner += inputs
        return [np.tanh(inner, out=inner)]
    u = h.shape[-1]
    if kind == "gru":
        inner += recurrent_bias
        gates = _sigmoid_of_halved(inputs[..., : 2 * u] + inner[..., : 2 * u])
        z = gates[..., :u]
        candidate = gates[..., u:] * inner[..., 2 * u :]
        candidate += inputs[..., 2 * u :]
        np.tanh(candidate, out=candidate)
        new = z * h
        new += (1.0 - z) * candidate
        return [new]
    inner += inputs
    i_f = _sigmoid_of_halved(inner[..., : 2 * u])
    o = _sigmoid_of_halved(inner[..., 3 * u :])
    c = i_f[..., u:] * state[1]
    c += i_f[..., :u] * np.tanh(inner[..., 2 * u : 3 * u])
    return [o * np.tanh(c), c]


class NumpyDecoder:
    """Greedy or sampled writing from an encoder-decoder export, one input at a time.

    `start(...)` (from LiteRT's `encode`) or `encode_ids(ids)` (a translator's
    source, where the export holds its encoder) begins an input; then
    `step(token)` gives the logits of the next piece.
    """

    def __init__(self, arrays):
        self.cell = str(arrays["decoder_cell"])
        self.layers = _layers(arrays, "decoder")
        self.target = arrays["target_embedding"]
        self.context = arrays.get("context_kernel")
        self.gamma, self.beta = arrays["norm_gamma"], arrays["norm_beta"]
        self.epsilon = np.float32(arrays["norm_epsilon"])
        # LayerNorm(q) @ H + b = (centred(q) / std(q)) @ (gamma H) + (beta @ H + b).
        self.head_kernel = (arrays["norm_gamma"][:, None] * arrays["head_kernel"]).astype(
            np.float32
        )
        self.head_bias = (arrays["norm_beta"] @ arrays["head_kernel"] + arrays["head_bias"]).astype(
            np.float32
        )
        self.width = np.float32(len(self.gamma))
        self._logits = np.empty(self.head_kernel.shape[1], np.float32)
        self.attention = str(arrays["attention"])
        self.memory_kernel = arrays.get("attention_memory_kernel")
        self.memory_bias = arrays.get("attention_memory_bias")
        self.query, self.score = arrays.get("attention_query"), arrays.get("attention_score")
        self.can_encode = "encoder_cell" in arrays
        if self.can_encode:
            self.source = arrays["source_embedding"]
            self.encoder_cell = str(arrays["encoder_cell"])
            self.encoder = _layers(arrays, "encoder")
            self.bridge = [
                (
                    arrays[f"bridge_{i}_kernel"],
                    arrays[f"bridge_{i}_bias"],
                    arrays[f"bridge_{i}_sources"].astype(int).tolist(),
                    bool(arrays[f"bridge_{i}_tanh"]),
                )
                for i in range(len([n for n in arrays if n.endswith("_tanh")]))
            ]
        self._kept = {}
        self.one_thread = OneBlasThread()
        self.memory = self.keys = self.states = None
        self.uniform = False

    def start(self, memory, keys, mask, states):
        """Begins an input from LiteRT's `encode`: `memory [1, t, m]`, `keys [1, t, k]`,
        `mask [1, t]` (1 where real), the decoder's starting states."""
        real = mask[0] > 0.5
        self.memory, self.keys, self.uniform = memory[0], keys[0], not real.any()
        if not self.uniform and not real.all():  # masked steps get no weight: leaving them
            self.memory, self.keys = self.memory[real], self.keys[real]  # out, the same softmax
        self._set_states(states)
        self._context_of_memory()

    def _context_of_memory(self):
        """The memory through the context projection, once per input: a step's context
        projection is then its attention weights times these rows."""
        if self.attention != "none":
            self.memory_context = self.memory @ self.context

    def _set_states(self, flat):
        per = 2 if self.cell == "lstm" else 1
        flat = [np.asarray(s, np.float32).reshape(1, 1, -1) for s in flat]
        self.states = [flat[i : i + per] for i in range(0, len(flat), per)]

    def encode_ids(self, ids):
        """Begins an input from its source piece ids (no padding), as `Translator.encode_ids`."""
        x = self.source[np.asarray(ids, np.int64)]
        finals = []
        for kernel, input_bias, recurrent, recurrent_bias in self.encoder:
            directions = len(recurrent)
            gates = (x @ kernel).reshape(len(x), directions, 1, recurrent.shape[-1]) + input_bias
            outputs, state = self._run(gates, recurrent, recurrent_bias)
            x = outputs.reshape(len(x), outputs.shape[1] * outputs.shape[2])  # as Bidirectional
            # `RecurrentStack.state_names` order: per layer, directions, then h (and c).
            finals.extend(part[d, 0] for d in range(directions) for part in state)
        if not len(ids):  # every step masked: zero outputs, uniform weights
            x = np.zeros((1, x.shape[-1]), np.float32)
        states = []
        for kernel, bias, sources, tanh in self.bridge:
            value = np.concatenate([finals[i] for i in sources]) @ kernel + bias
            states.append(np.tanh(value) if tanh else value)
        keys = x if self.attention == "none" else x @ self.memory_kernel + self.memory_bias
        self.memory, self.keys, self.uniform = x, keys, False
        self._set_states(states)
        self._context_of_memory()

    def _run(self, gates, recurrent, recurrent_bias):
        """A recurrent layer over `gates [t, D, 1, G]`, direction 1 reading the source reversed:
        the outputs `[t, D, u]` in source order, and the final states."""
        steps, directions, units = len(gates), len(recurrent), recurrent.shape[1]
        if directions == 2:
            gates = gates.copy()
            gates[:, 1] = gates[::-1, 1]
        count = 2 if self.encoder_cell == "lstm" else 1
        state = [np.zeros((directions, 1, units), np.float32) for _ in range(count)]
        outputs = np.empty((steps, directions, units), np.float32)
        for t in range(steps):
            state = _step(self.encoder_cell, gates[t], state, recurrent, recurrent_bias)
            outputs[t] = state[0][:, 0]
        if directions == 2:
            outputs[:, 1] = outputs[::-1, 1].copy()
        return outputs, state

    def step(self, token):
        """The logits `[vocabulary]` after `token` (a buffer the next step writes over); the
        decoder's states move one step on."""
        gates = self._kept.get(token)
        if gates is None:
            kernel, input_bias = self.layers[0][:2]
            gates = self.target[token] @ kernel + input_bias
            if len(self._kept) < KEPT_TOKENS:
                self._kept[token] = gates
        for index, (kernel, input_bias, recurrent, recurrent_bias) in enumerate(self.layers):
            if index:
                gates = x @ kernel + input_bias  # noqa: F821 (the previous layer's output)
            state = _step(self.cell, gates, self.states[index], recurrent, recurrent_bias)
            self.states[index] = state
            x = state[0][0]
        query = x[0]
        if self.attention != "none":
            if self.attention == "additive":
                hidden = self.keys + query @ self.query
                scores = np.tanh(hidden, out=hidden) @ self.score
            else:
                scores = self.keys @ query
            if self.uniform:
                scores = np.zeros_like(scores)
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            query = query + weights @ self.memory_context
        # The layer norm, its scale and shift folded into the output layer (in `__init__`).
        centred = query - np.add.reduce(query) / self.width
        scale = 1.0 / math.sqrt(float(np.dot(centred, centred)) / self.width + self.epsilon)
        logits = np.matmul(centred, self.head_kernel, out=self._logits)
        logits *= scale
        logits += self.head_bias
        return logits


def _layers(arrays, prefix):
    count = len([n for n in arrays if n.startswith(f"{prefix}_") and n.endswith("_forward_kernel")])
    return [_stacked(arrays, prefix, index) for index in range(count)]


def numpy_decoder(folder, asset, variant):
    """The export's `NumpyDecoder` for the float32 variant where it wrote the weights, else None."""
    if variant != "float32" or not asset.get("arrays"):
        return None
    with np.load(folder / asset["arrays"]) as arrays:
        return NumpyDecoder(dict(arrays))
