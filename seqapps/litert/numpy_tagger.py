"""A tagger's numbers for one sentence at a time, in NumPy: no interpreter call per sentence.

At batch 1 a LiteRT interpreter spends most of a sentence in its WHILE loops'
per-step bookkeeping, not in the ~130k multiply-adds a token costs. Here the
same arithmetic runs in a few NumPy calls per token, over float32 weights the
export writes beside its `.tflite` files (`tagger.npz`): the word embedding and
the character CNN per distinct token (kept, as the projection into the first
layer's gates), then the bidirectional LSTM stack with both directions in one
matrix product per step, then the head. Only the float32 variant reads it;
int8 stays in LiteRT.
"""

from __future__ import annotations

import numpy as np

#: Written beside `model.tflite` when the tagger's layers are the ones computed here.
ARRAYS_FILE = "tagger.npz"
#: Tokens whose first-layer gate inputs are kept (4 KB each at 128 units: 40 MB at most).
KEPT_TOKENS = 10_000


def tagger_arrays(model):
    """The weights `NumpyTagger` needs, float32, or None where the model's layers differ
    from the ones it computes (then the runtime calls the interpreter)."""
    encoder, head = model.get_layer("encoder"), model.get_layer("head")
    spelling = model.get_layer("spelling")
    cells = [getattr(layer, "forward_layer", None) for layer in encoder.recurrent_layers]
    if (
        encoder.cell != "lstm"
        or not encoder.bidirectional
        or spelling.kernel_size % 2 != 1
        or head.get_config()["activation"] not in ("softmax", "linear")
        or any(
            cell is None
            or cell.cell.activation.__name__ != "tanh"
            or cell.cell.recurrent_activation.__name__ != "sigmoid"
            or not cell.cell.use_bias
            for cell in cells
        )
    ):
        return None
    arrays = {
        "words": _word_table(model.get_layer("embedding")),
        "chars": spelling.embedding.embeddings,
        "char_kernel": spelling.convolution.kernel,
        "char_bias": spelling.convolution.bias,
        "head_kernel": head.kernel,
        "head_bias": head.bias,
        "head_softmax": np.array(head.get_config()["activation"] == "softmax"),
    }
    for index, layer in enumerate(encoder.recurrent_layers):
        for direction, part in (
            ("forward", layer.forward_layer),
            ("backward", layer.backward_layer),
        ):
            cell = part.cell
            arrays[f"{direction}_{index}_kernel"] = cell.kernel
            arrays[f"{direction}_{index}_recurrent"] = cell.recurrent_kernel
            arrays[f"{direction}_{index}_bias"] = cell.bias
    return {name: np.asarray(value, np.float32) for name, value in arrays.items()}


def _word_table(embedding):
    """Every word id's vector: a plain table, or the pretrained + trained rows of a `WordEmbedding`."""
    if hasattr(embedding, "table"):
        return embedding.table()
    return embedding.embeddings


def _gate_order(matrix, units):
    """Keras's `[i, f, c, o]` gate columns as `[o, i, f, c]`, the sigmoid gates scaled by 1/2
    (exact in binary): then one tanh gives all four, sigmoid(x) = (tanh(x / 2) + 1) / 2."""
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([o * 0.5, i * 0.5, f * 0.5, c], axis=-1).astype(np.float32)


class NumpyTagger:
    """`probabilities(token ids)` of the exported tagger, one sentence at a time."""

    def __init__(self, arrays):
        self.words, self.chars = arrays["words"], arrays["chars"]
        self.char_kernel, self.char_bias = arrays["char_kernel"], arrays["char_bias"]
        self.head_kernel, self.head_bias = arrays["head_kernel"], arrays["head_bias"]
        self.softmax = bool(arrays["head_softmax"])
        self.units = units = arrays["forward_0_recurrent"].shape[0]
        self.layers = []  # per layer: input kernel [in, 2 * 4u], bias [2, 4u], recurrent [2, u, 4u]
        index = 0
        while f"forward_{index}_kernel" in arrays:
            parts = [
                [_gate_order(arrays[f"{d}_{index}_{p}"], units) for d in ("forward", "backward")]
                for p in ("kernel", "bias", "recurrent")
            ]
            self.layers.append(
                (np.concatenate(parts[0], axis=-1), np.stack(parts[1]), np.stack(parts[2]))
            )
            index += 1
        self._kept = {}
        self._tap_table = self._windows = self._buffers = None
        self._row = np.zeros((2, 1, 5 * units), np.float32)
        self._products = np.empty((2, 1, 2 * units), np.float32)
        self._one_thread = OneBlasThread()

    def gates_in(self, tokens, tokenizer):
        """The first layer's gate inputs `[n, 2, 4u]` of `tokens` (both directions), in one go."""
        word_ids, char_ids = zip(*map(tokenizer.ids, tokens))
        vectors = np.concatenate(
            [self.words[list(word_ids)], self._spelling(np.array(char_ids, np.int32))], axis=-1
        )
        kernel, bias, _ = self.layers[0]
        return (vectors @ kernel).reshape(len(tokens), *bias.shape) + bias

    def _spelling(self, ids):
        """`CharacterEncoder` on `[n, chars]` ids: convolution ("same"), tanh, max over characters.

        The convolution is a sum of table rows: per tap, every character's embedding times
        that tap's kernel (`_taps`, made once). The centre tap of the padding id carries a
        large negative, so that padding steps come out of the tanh at -1, below every real
        one: the max then skips them, as the layer's mask does.
        """
        width, _, _ = self.char_kernel.shape
        count, length = len(ids), ids.shape[1]
        if self._windows is None or len(self._windows) != length:
            self._tap_table, self._windows, self._offsets = self._taps(length)
        padded = np.full((count, length + width - 1), len(self.chars), np.int32)
        padded[:, (width - 1) // 2 : (width - 1) // 2 + length] = ids
        index = padded[:, self._windows]
        index += self._offsets
        pooled = np.tanh(self._tap_table[index].sum(axis=2)).max(axis=1)
        if ids[:, 0].min() == 0:  # a token without characters: zeros, as the layer's mask gives
            pooled[ids[:, 0] == 0] = 0.0
        return pooled

    def _taps(self, length):
        """The tables of `_spelling`: `[width * (characters + 1), filters]` (the last row of each
        tap is the zero padding beyond the token), the window positions `[length, width]` and
        each tap's first row."""
        width, dim, filters = self.char_kernel.shape
        side, rows = (width - 1) // 2, len(self.chars) + 1
        table = np.zeros((width, rows, filters), np.float32)
        for tap in range(width):
            table[tap, :-1] = self.chars @ self.char_kernel[tap]
        table[side, :-1] += self.char_bias
        table[side, 0] = -1e4  # the padding id, in the token: masked
        windows = np.arange(length)[:, None] + np.arange(width)[None, :]
        return table.reshape(width * rows, filters), windows, np.arange(width) * rows

    def probabilities(self, gates, scores=True):
        """`gates`: `[t, 2, 4u]` first-layer gate inputs → the head's outputs `[t, tags]`
        (`scores=False`: before its softmax, which keeps the largest where it was)."""
        states = None
        for index, (kernel, bias, recurrent) in enumerate(self.layers):
            if index:
                gates = (states @ kernel).reshape(len(states), *bias.shape) + bias
            states = self._bidirectional(gates, recurrent)
        outputs = states @ self.head_kernel + self.head_bias
        if scores and self.softmax:
            outputs = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
            outputs /= outputs.sum(axis=-1, keepdims=True)
        return outputs

    def _bidirectional(self, gates, recurrent):
        """One bidirectional LSTM layer, both directions in one product per step: `[t, 2u]`.

        The step's gates `[o, i, f, g]` sit beside the cell state in one row, so
        that `[i, f] * [g, c]` is one product: nine NumPy calls per step (seven on
        the first, whose recurrent input is zero). The buffers and their per-step
        views are made once and reused (one sentence at a time, as the interpreter).
        """
        steps, u = len(gates), self.units
        if self._buffers is None or len(self._buffers[0]) < steps:
            size = max(steps, 64)
            inputs = np.empty((size, 2, 1, 4 * u), np.float32)
            outputs = np.empty((size, 2, 1, u), np.float32)
            # Views made once: indexing an array per step costs as much as a small product.
            self._buffers = (inputs, outputs, list(inputs), list(outputs))
        inputs, outputs, input_views, output_views = self._buffers
        inputs[:steps, 0, 0] = gates[:, 0]
        inputs[:steps, 1, 0] = gates[::-1, 1]  # the backward direction reads the sentence reversed
        row, products = self._row, self._products  # row: [o, i, f, g, c]
        z, sigmoids, o, c = row[..., : 4 * u], row[..., : 3 * u], row[..., :u], row[..., 4 * u :]
        i_f, g_c = row[..., u : 3 * u], row[..., 3 * u :]
        i_g, f_c = products[..., :u], products[..., u:]
        c[...] = 0.0
        h = None
        tanh, matmul, multiply, add, copyto = np.tanh, np.matmul, np.multiply, np.add, np.copyto
        for step_in, h_out in zip(input_views[:steps], output_views[:steps]):
            if h is None:
                copyto(z, step_in)
            else:
                matmul(h, recurrent, out=z)
                z += step_in
            tanh(z, out=z)
            sigmoids += 1.0
            sigmoids *= 0.5
            multiply(i_f, g_c, out=products)
            add(i_g, f_c, out=c)
            h = h_out
            tanh(c, out=h)
            h *= o
        outputs = outputs[:steps]
        forward = outputs[:, 0, 0]
        backward = outputs[::-1, 1, 0]
        return np.concatenate([forward, backward], axis=-1)

    def sentence(self, tokens, tokenizer, scores=True):
        """The head's outputs `[t, tags]` for one sentence's tokens (ids from a `TaggerTokenizer`);
        `scores=False`: before the head's softmax (the same largest).

        The gate inputs of tokens seen before are kept (up to `KEPT_TOKENS`): a
        sentence's words are mostly common ones.
        """
        kept = self._kept
        rows = [kept.get(token) for token in tokens]
        missing = [n for n, row in enumerate(rows) if row is None]
        with self._one_thread:
            if missing:
                new = self.gates_in([tokens[n] for n in missing], tokenizer)
                for n, row in zip(missing, new):
                    rows[n] = row
                    if len(kept) < KEPT_TOKENS:
                        kept[tokens[n]] = row
            gates = np.empty((len(rows), *rows[0].shape), np.float32)
            for n, row in enumerate(rows):
                gates[n] = row
            return self.probabilities(gates, scores)


class OneBlasThread:
    """A context running BLAS on one thread (threadpoolctl, where installed): these products
    are too small to share, and on a busy CPU OpenBLAS's second thread, waiting for its turn,
    made a sentence ~10x slower. Cheaper than `threadpool_limits` per call."""

    def __init__(self):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            self.libraries = []
        else:
            self.libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        self.before = []

    def __enter__(self):
        self.before = [lib.num_threads for lib in self.libraries]
        for lib, threads in zip(self.libraries, self.before):
            if threads != 1:
                lib.set_num_threads(1)

    def __exit__(self, *exc):
        for lib, threads in zip(self.libraries, self.before):
            if threads != 1:
                lib.set_num_threads(threads)


def numpy_tagger(folder, asset, variant):
    """The export's `NumpyTagger` for the float32 variant where it wrote the weights, else None."""
    if variant != "float32" or not asset.get("arrays"):
        return None
    with np.load(folder / asset["arrays"]) as arrays:
        return NumpyTagger(dict(arrays))
