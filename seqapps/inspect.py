"""See inside the recurrence: gradient flow through time, and hidden states and gates step by step.

Both work on any `RecurrentStack`, alone or inside a task model (the
classifier, the generator, the tagger, an encoder): for a model, the stack is
found by type and fed exactly what the model feeds it.

>>> import numpy as np
>>> from seqapps.layers import RecurrentStack
>>> stack = RecurrentStack("lstm", units=4)
>>> vectors = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
>>> gradient_flow(stack, vectors).shape  # one norm per distance from the output
(6,)
>>> sorted(trace(stack, vectors[:1])[0])
['c', 'candidate', 'forget_gate', 'h', 'input_gate', 'output_gate']
"""

from __future__ import annotations

import html
import os
import shutil
import tempfile
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqapps.checks import check_int
from seqapps.layers import RecurrentStack
from seqapps.tasks.inputs import check_list


def recurrent_stack(model) -> RecurrentStack:
    """The model's `RecurrentStack` (the first one, for a model with several), or the stack itself."""
    if isinstance(model, RecurrentStack):
        return model
    for layer in model.layers:
        if isinstance(layer, RecurrentStack):
            return layer
    raise ValueError(f"{type(model).__name__} has no RecurrentStack layer to inspect")


def parts(model, inputs) -> dict[str, tuple]:
    """`{name: (stack, vectors, mask, initial state or None, tokens per row)}`: what each part
    of `model` reads for `inputs`.

    A bare stack reads `inputs` as vectors. A task model's first `RecurrentStack` reads what
    the model feeds it from raw `inputs` (`Task.inspect_inputs` says what to feed and the
    tokens); a task with a decoder adds it (`Task.inspect_decoder`: the decoder writing its
    answer to the first input, from the state the encoder hands it).
    """
    inputs = check_list(inputs, "inputs", "a list of inputs (e.g. [text])")
    if not inputs:
        raise ValueError("inputs is empty; pass at least one input to inspect, e.g. [text]")
    if isinstance(model, RecurrentStack):
        vectors = tf.convert_to_tensor(inputs, tf.float32)
        tokens = [list(range(vectors.shape[1]))] * vectors.shape[0]
        return {"stack": (model, vectors, tf.ones(tf.shape(vectors)[:2], tf.bool), None, tokens)}
    found = {}
    stacks = [layer for layer in model.layers if isinstance(layer, RecurrentStack)]
    if stacks:
        # A stack called with an explicit mask (the tagger) has [vectors, mask] as its input.
        fed = stacks[0].input[0] if isinstance(stacks[0].input, (list, tuple)) else stacks[0].input
        raw, rows = model.inspect_inputs(list(inputs))
        raw = tf.nest.map_structure(tf.constant, raw)
        vectors = tf.convert_to_tensor(keras.Model(model.inputs, fed)(raw, training=False))
        mask = tf.sequence_mask([len(row) for row in rows], tf.shape(vectors)[1])
        if not tf.reduce_all(tf.reduce_any(mask, axis=1)):
            raise ValueError("every input needs at least one token to inspect; got an empty one")
        found[stacks[0].name] = (stacks[0], vectors, mask, None, rows)
    decoder = model.inspect_decoder(list(inputs))
    if decoder is not None:
        stack, vectors, state, tokens = decoder
        found["decoder"] = (
            stack,
            vectors,
            tf.ones(tf.shape(vectors)[:2], tf.bool),
            state,
            [tokens],
        )
    if not found:
        raise ValueError(f"{type(model).__name__} has no RecurrentStack layer to inspect")
    return found


def _part(model, inputs, part):
    found = parts(model, inputs)
    if part is None:
        return next(iter(found.values()))
    if part not in found:
        raise ValueError(f"{type(model).__name__} has no part {part!r}; it has {sorted(found)}")
    return found[part]


def stack_inputs(model, inputs, part=None):
    """`(vectors [batch, time, features], mask [batch, time])` the stack of `part` (default:
    the first) reads for `inputs` (see `parts`)."""
    return _part(model, inputs, part)[1:3]


def tokens(model, text: str, part=None) -> list[str]:
    """The tokens a model reads from `text`, one per step of `trace` (words or characters)."""
    return _part(model, [text], part)[4][0]


def write_report(models: dict, text: str, out, units: int = 16) -> tuple[int, Path]:
    """The gradient flow chart of `models` (name → model) reading `text`, and each part's
    (encoder, decoder) first-layer hidden states and gates, with an HTML page, in `out`.

    `out` must be new or an empty folder. Everything is drawn in a folder beside it first,
    so a model that cannot be inspected leaves nothing behind. Returns `(number of
    pictures, the page's path)`.
    """
    from seqapps import plots

    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; choose a new one")
    found = {name: parts(model, [text]) for name, model in models.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        curves, pictures = {}, ["gradient_flow.png"]
        for number, (name, model_parts) in enumerate(found.items(), start=1):
            for part, (stack, vectors, mask, state, rows) in model_parts.items():
                suffix = f" {part}" if len(model_parts) > 1 else ""  # e.g. encoder, decoder
                label, stem = name + suffix, Path(name).stem + suffix.replace(" ", "-")
                curves[label] = _gradient_flow(stack, vectors, mask, state)
                for key, values in _trace(stack, vectors, mask, state)[0].items():
                    if key.endswith(("h", "gate")):  # hidden states and gates of the first layer
                        picture = f"{number}-{stem}-{key}.png"
                        shown = range(min(units, values.shape[1]))
                        plots.state_heatmap(
                            values, rows[0], staging / picture, units=shown, title=f"{label}: {key}"
                        )
                        pictures.append(picture)
        plots.gradient_flow_chart(curves, staging / "gradient_flow.png", title=text[:60])
        page = "".join(f'<p>{html.escape(p)}</p><img src="{html.escape(p)}">\n' for p in pictures)
        (staging / "index.html").write_text(
            f"<!doctype html><title>seqapps inspect</title><h1>{html.escape(text)}</h1>\n{page}",
            encoding="utf-8",
        )
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(pictures), out / "index.html"


def gradient_flow(model, inputs, part=None) -> np.ndarray:
    """How much the stack's final output depends on the input `d` steps before it.

    For each input row, the L2 norm of the gradient of the sum of the stack's
    last output (its final hidden state, top layer) with respect to the input
    vector at each step; rows are aligned at their last real step and averaged.
    Entry `d` of the result is the mean norm `d` steps before the output (0 =
    the last step read). A plain RNN's norms fall roughly geometrically with `d`
    (each step multiplies by `W_hh` and tanh's derivative); gates let LSTM and
    GRU keep them up. `part` picks a part of the model (see `parts`; default: the first).
    """
    return _gradient_flow(*_part(model, inputs, part)[:4])


def _gradient_flow(stack, vectors, mask, state):
    with tf.GradientTape() as tape:
        tape.watch(vectors)
        outputs = stack(vectors, initial_state=state, mask=mask, training=False)
        if stack.return_state:
            outputs = outputs[0]
        if stack.return_sequences:  # the last real step of each row
            last = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) - 1
            outputs = tf.gather(outputs, last, batch_dims=1)
        objective = tf.reduce_sum(outputs)
    norms = tf.norm(tape.gradient(objective, vectors), axis=-1).numpy()
    lengths = mask.numpy().sum(axis=1)
    total = np.zeros(int(lengths.max()))
    count = np.zeros(int(lengths.max()))
    for row, length in enumerate(lengths):
        total[:length] += norms[row, :length][::-1]
        count[:length] += 1
    return total / np.maximum(count, 1)


def trace(model, inputs, part=None) -> list[dict[str, np.ndarray]]:
    """Every step's hidden state and gates, recomputed from each layer's own weights.

    Keras's fused recurrent layers return outputs only; this replays each cell
    with NumPy, one step at a time, for the first row of `inputs`. Returns one
    dict per layer of the stack, each value `[time, units]`:

    - all cells: `h` (the hidden state / output);
    - LSTM: `input_gate`, `forget_gate`, `output_gate`, `candidate` (the new
      content `tanh(...)`), `c` (the cell state);
    - GRU: `update_gate`, `reset_gate`, `candidate`.

    For a bidirectional stack the keys get `forward_` and `backward_` prefixes
    (the backward values in reading order, last step first, as Keras computes
    them, then reversed back to text order). Runs in inference mode, from zero
    states, or for a decoder from the state its encoder hands it. `part` picks a
    part of the model (see `parts`; default: the first).
    """
    return _trace(*_part(model, inputs, part)[:4])


def _trace(stack, vectors, mask, state):
    if not stack.built:
        stack(vectors[:1])
    x = vectors[0][mask[0]].numpy().astype(np.float64)
    per_layer = stack.states_per_layer
    layers = []
    for index, layer in enumerate(stack.recurrent_layers):
        start = None
        if state is not None:  # the first row's states of this layer, e.g. [h] or [h, c]
            start = [np.asarray(s[0], np.float64) for s in state[index * per_layer :][:per_layer]]
        if isinstance(layer, keras.layers.Bidirectional):
            half = None if start is None else len(start) // 2
            forward = _replay(layer.forward_layer, x, start and start[:half])
            backward = _replay(layer.backward_layer, x[::-1], start and start[half:])
            record = {f"forward_{k}": v for k, v in forward.items()}
            record.update({f"backward_{k}": v[::-1] for k, v in backward.items()})
            x = np.concatenate([forward["h"], backward["h"][::-1]], axis=-1)
        else:
            record = _replay(layer, x, start)
            x = record["h"]
        layers.append(record)
    return layers


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _replay(layer, x, start=None) -> dict[str, np.ndarray]:
    """One Keras recurrent layer over `x [time, features]`, step by step, in float64, from
    zero states or `start` (`[h]`, or `[h, c]` for an LSTM)."""
    cell = layer.cell
    kernel = np.asarray(cell.kernel, np.float64)
    recurrent = np.asarray(cell.recurrent_kernel, np.float64)
    bias = np.asarray(cell.bias, np.float64) if cell.use_bias else None
    units = recurrent.shape[0]
    h, c = (list(start) + [np.zeros(units)])[:2] if start else (np.zeros(units), np.zeros(units))
    steps = {}

    def keep(**values):
        for key, value in values.items():
            steps.setdefault(key, []).append(value)

    for x_t in x:
        if isinstance(layer, keras.layers.SimpleRNN):
            h = np.tanh(x_t @ kernel + h @ recurrent + (0 if bias is None else bias))
            keep(h=h)
        elif isinstance(layer, keras.layers.LSTM):
            z = x_t @ kernel + h @ recurrent + (0 if bias is None else bias)
            i, f, g, o = np.split(z, 4)
            i, f, g, o = _sigmoid(i), _sigmoid(f), np.tanh(g), _sigmoid(o)
            c = f * c + i * g
            h = o * np.tanh(c)
            keep(h=h, c=c, input_gate=i, forget_gate=f, output_gate=o, candidate=g)
        elif isinstance(layer, keras.layers.GRU):
            if not cell.reset_after:
                raise ValueError("trace replays GRUs with reset_after=True (Keras's default)")
            input_bias, recurrent_bias = bias if bias is not None else np.zeros((2, 3 * units))
            x_z, x_r, x_h = np.split(x_t @ kernel + input_bias, 3)
            r_z, r_r, r_h = np.split(h @ recurrent + recurrent_bias, 3)
            z = _sigmoid(x_z + r_z)
            r = _sigmoid(x_r + r_r)
            candidate = np.tanh(x_h + r * r_h)
            h = z * h + (1 - z) * candidate
            keep(h=h, update_gate=z, reset_gate=r, candidate=candidate)
        else:
            raise ValueError(f"trace cannot replay {type(layer).__name__}")
    return {key: np.stack(values) for key, values in steps.items()}


def character_features(text: str) -> dict[str, np.ndarray]:
    """Simple per-character features of a play's text, for `find_units`.

    `inside_brackets` (within `[...]`, a stage direction), `position_in_line`
    (characters since the last newline), `speaker_name` (within a line written
    in capitals ending with a colon or a period, e.g. `ROMEO:`), `after_newline`
    (the first character of a line), `inside_quotes`.
    """
    n = len(text)
    features = {name: np.zeros(n) for name in ("inside_brackets", "position_in_line")}
    features.update(
        {name: np.zeros(n) for name in ("speaker_name", "after_newline", "inside_quotes")}
    )
    depth, column, quoted = 0, 0, False
    line_start = 0
    for i, char in enumerate(text):
        depth += char == "["
        features["inside_brackets"][i] = depth > 0
        depth -= char == "]" and depth > 0
        features["position_in_line"][i] = column
        features["after_newline"][i] = column == 0
        quoted ^= char in '"“”'
        features["inside_quotes"][i] = quoted
        column = 0 if char == "\n" else column + 1
        if char == "\n" or i == n - 1:
            line = text[line_start : i + 1].strip()
            if line and line.rstrip(":.").isupper() and line[-1] in ":.":
                features["speaker_name"][line_start : i + 1] = 1
            line_start = i + 1
    return features


def find_units(model, text, features=None, *, layer=0, top=3) -> dict[str, list]:
    """The hidden units whose activation follows each feature of the text most closely.

    `text` is a string the model reads (or, for a bare stack, its input vectors).
    Reads `text` once (`trace`), then correlates every unit of the chosen
    layer's hidden state with every feature (Pearson, over the characters;
    default: `character_features(text)`). Returns per feature the `top` units
    as `(unit, correlation)`, strongest first (by absolute value). After
    Karpathy, Johnson and Fei-Fei (2015), "Visualizing and Understanding
    Recurrent Networks".
    """
    features = character_features(text) if features is None else features
    records = trace(model, [text] if isinstance(text, str) else text)
    layers = f"layer (the stack has {len(records)} layers)"
    record = records[check_int(layer, layers, low=-len(records), high=len(records) - 1)]
    states = record["h"] if "h" in record else record["forward_h"]
    for name, values in features.items():
        if len(values) != len(states):
            raise ValueError(
                f"feature {name!r} has {len(values)} values; it needs one per step the model "
                f"read ({len(states)})"
            )
    centred = states - states.mean(axis=0)
    scale = np.linalg.norm(centred, axis=0)
    found = {}
    for name, values in features.items():
        values = np.asarray(values, np.float64) - np.mean(values)
        norm = np.linalg.norm(values)
        if norm == 0:
            found[name] = []
            continue
        correlation = (values @ centred) / np.maximum(scale * norm, 1e-12)
        best = np.argsort(-np.abs(correlation))[:top]
        found[name] = [(int(u), round(float(correlation[u]), 3)) for u in best]
    return found
