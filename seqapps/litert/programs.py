"""What each task puts in a LiteRT file: its signatures over ids (or pixels) and its client asset.

LiteRT's builtin ops cannot run TensorFlow's string ops, so a `.tflite` file
holds the numeric part of a task only: token ids (or uint8 pixels) in,
probabilities, logits and recurrent states out. Tokenizing, the decode loop
and the answer's text run in the client, from `assets.json` (vocabulary,
tokenizer rules, label names, special ids); `seqapps.litert.runtime` is that
client in Python.

| task | signatures |
|---|---|
| text-classification | `classify(ids [b, t]) → probabilities [b, labels]`; with a lexicon also `features [b, t, 4]` |
| token-classification | `tag(word_ids [b, t], char_ids [b, t, c]) → probabilities [b, t, tags]` |
| text-generation | `read(ids [b, t], state [s, b, u]) → logits [b, v] (last step), state`; `step(token_ids [b], state)` the same for one token |
| translation, image-captioning | `encode(source_ids [b, t] or images uint8 [b, h, w, 3]) → memory, memory_mask, state_0..`; `step(token_ids [b], memory, memory_mask, state_0..) → logits [b, v], state_0..` |
"""

from __future__ import annotations

import tensorflow as tf

#: LiteRT's converter needs the batch size static to lower a recurrent layer's loop, so every
#: signature takes one input at a time (a client runs the rows of a batch one by one).
BATCH = 1


def _ids(name, rank=2):
    return tf.TensorSpec([BATCH] + [None] * (rank - 1), tf.int32, name=name)


def _embedded(embedding, ids):
    """`embedding(ids)` in float32; a float16 table is widened first (LiteRT gathers no float16)."""
    import keras

    if type(embedding) is keras.layers.Embedding:
        return tf.gather(tf.cast(embedding.embeddings, tf.float32), ids)
    return tf.cast(embedding(ids), tf.float32)


def _stack_step(stack, x, states):
    """One step of a one-way `RecurrentStack` `[batch, features]` through its layers' cells.

    The same arithmetic as the layers (Keras runs a cell per step on a CPU), without
    the loop over time that LiteRT would run for a sequence of one step.
    """
    per_layer, new_states = stack.states_per_layer, []
    for index, layer in enumerate(stack.recurrent_layers):
        state = list(states[index * per_layer : (index + 1) * per_layer])
        x, state = layer.cell(x, state, training=False)
        new_states.extend(state if isinstance(state, (list, tuple)) else [state])
    return x, new_states


def classifier(model):
    from seqapps.tasks.text_classifier import _classify_vectors

    names = {layer.name for layer in model.layers}

    def layer(name):
        return model.get_layer(name) if name in names else None

    def classify(ids, features=None):
        vectors = _embedded(model.get_layer("embedding"), ids)
        probabilities = _classify_vectors(
            layer, vectors, tf.not_equal(ids, 0), training=False, features=features
        )
        return {"probabilities": probabilities}

    vectorizer = model.get_layer("vectorizer")
    asset = {
        "labels": model.labels,
        "tokenizer": {
            "kind": "words",
            "vocabulary": vectorizer.tokens,
            "lowercase": vectorizer.lowercase,
            "max_length": vectorizer.max_length,
        },
    }
    specs = [_ids("ids")]
    lexicon = layer("lexicon")
    if lexicon is not None:  # its string ops stay in the client, which sends the numbers
        asset["lexicon"] = lexicon.client_spec()
        specs.append(tf.TensorSpec([BATCH, None, lexicon.output_dim], tf.float32, "features"))
    return {"classify": (classify, specs)}, asset


def tagger(model):
    def tag(word_ids, char_ids):
        mask = tf.not_equal(word_ids, 0)
        vectors = tf.concat(
            [model.get_layer("embedding")(word_ids), model.get_layer("spelling")(char_ids)], -1
        )
        states = model.get_layer("encoder")(vectors, mask=mask, training=False)
        return {"probabilities": model.get_layer("head")(states)}

    words, chars = model.get_layer("words"), model.get_layer("characters")
    asset = {
        "tags": model.tags,
        "tokenizer": {
            "kind": "tagger",
            "vocabulary": ["", "[UNK]", *words.vocabulary],
            "lowercase": words.lowercase,
            "characters": ["", "[UNK]", *chars.characters],
            "max_chars": chars.max_chars,
        },
    }
    return {"tag": (tag, [_ids("word_ids"), _ids("char_ids", 3)])}, asset


def generator(model):
    state_spec = tf.TensorSpec([model.num_states, BATCH, model.units], tf.float32, name="state")

    def read(ids, state):
        logits, state = model.read(ids, state)
        return {"logits": logits[:, -1], "state": state}

    def step(token_ids, state):
        x = model.get_layer("embedding")(token_ids)
        x, states = _stack_step(model.get_layer("decoder"), x, tf.unstack(state))
        return {"logits": model.get_layer("head")(x), "state": tf.stack(states)}

    vectorizer = model.tokenizer
    asset = {
        "tokenizer": {
            "kind": "chars" if vectorizer.split == "char" else "words",
            "vocabulary": vectorizer.tokens,
            "lowercase": vectorizer.lowercase,
            "max_length": None,
        },
        "start_id": int(model.start_id),
        "end_id": None,
        "never_written_ids": list(vectorizer.never_written_ids),
        "state_shape": [model.num_states, model.units],
        "max_output_length": int(model.max_output_length),
    }
    return {
        "read": (read, [_ids("ids"), state_spec]),
        "step": (step, [_ids("token_ids", 1), state_spec]),
    }, asset


def _attend(attention, query, memory, keys, memory_mask):
    """`Attention.call` with the memory's projection (`keys`) made once per input, in `encode`."""
    from keras import ops

    if attention.kind == "additive":
        hidden = ops.tanh(
            ops.expand_dims(attention.query_projection(query), 2) + ops.expand_dims(keys, 1)
        )
        scores = ops.squeeze(attention.score_vector(hidden), -1)
    else:
        scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
    scores = ops.where(ops.expand_dims(memory_mask, 1), scores, -1e9)
    return ops.matmul(ops.softmax(scores, axis=-1), memory)


def encoder_decoder(model, encode_inputs, input_spec, tokenizer):
    """Translation and captioning: `encode_inputs(inputs)` gives the decoder's starting state."""
    decoder = model.get_layer("decoder")
    attention = decoder.attention
    shape = [1, *[1 if size is None else size for size in input_spec.shape[1:]]]
    example = encode_inputs(tf.zeros(shape, input_spec.dtype))
    count = len(example["states"])
    width = example["memory"].shape[-1]
    state_specs = [
        tf.TensorSpec([BATCH, *s.shape[1:]], tf.float32, name=f"state_{i}")
        for i, s in enumerate(example["states"])
    ]

    def states_out(states):
        return {f"state_{i}": s for i, s in enumerate(states)}

    def encode(inputs):
        state = encode_inputs(inputs)
        memory = state["memory"]
        return {
            "memory": memory,
            "memory_mask": tf.cast(state["memory_mask"], tf.float32),
            "memory_keys": memory if attention is None else attention.memory_projection(memory),
            **states_out(state["states"]),
        }

    def step(token_ids, memory, memory_mask, memory_keys, *states):
        # `AttentionDecoder.call` for one step, its recurrent layers run as cells.
        embedded = model.get_layer("target_embedding")(token_ids)
        x, states = _stack_step(decoder.stack, embedded, states)
        x = x[:, None]
        if attention is not None:
            context = _attend(attention, x, memory, memory_keys, memory_mask > 0.5)
            x = x + decoder.context_projection(context)
        logits = model.get_layer("head")(decoder.norm(x))[:, 0]
        return {"logits": logits, **states_out(states)}

    keys = (
        example["memory"] if attention is None else attention.memory_projection(example["memory"])
    )
    vectorizer = model.output_tokenizer
    asset = {
        "tokenizer": tokenizer,
        "start_id": int(vectorizer.start_id),
        "end_id": int(vectorizer.end_id),
        "never_written_ids": list(vectorizer.never_written_ids),
        "state_count": count,
        "max_output_length": int(model.max_output_length),
    }
    step_signature = [
        _ids("token_ids", 1),
        tf.TensorSpec([BATCH, None, width], tf.float32, name="memory"),
        tf.TensorSpec([BATCH, None], tf.float32, name="memory_mask"),
        tf.TensorSpec([BATCH, None, keys.shape[-1]], tf.float32, name="memory_keys"),
        *state_specs,
    ]
    return {"encode": (encode, [input_spec]), "step": (step, step_signature)}, asset


def translator(model):
    import base64

    source, target = model.tokenizer, model.target_tokenizer
    tokenizer = {
        "kind": "sentencepiece",
        "source_model": base64.b64encode(source.model).decode("ascii"),
        "source_max_length": source.max_length,
        "source_add_start": source.add_start,
        "source_add_end": source.add_end,
        "target_model": base64.b64encode(target.model).decode("ascii"),
    }
    signatures, asset = encoder_decoder(model, model.encode_ids, _ids("source_ids"), tokenizer)
    asset["max_length_rule"] = "min(2 * source pieces + 10, max_output_length)"
    return signatures, asset


def captioner(model):
    import base64

    spec = tf.TensorSpec([BATCH, *model.image_size, 3], tf.uint8, name="images")
    tokenizer = {
        "kind": "sentencepiece",
        "target_model": base64.b64encode(model.tokenizer.model).decode("ascii"),
        "image_size": list(model.image_size),
    }

    def encode_pixels(images):
        # `ImageScaler` without its resize: the client resizes (`images_to_array`), and a resize
        # to the same size is the identity, which LiteRT's ops cannot express with antialiasing.
        scaled = tf.cast(images, tf.float32) / 255.0
        feature_map = model.get_layer("image_encoder")(scaled, training=False)
        memory = model.get_layer("memory")(feature_map)
        return {
            "states": model.get_layer("bridge")([model.get_layer("pool")(feature_map)]),
            "memory": memory,
            "memory_mask": tf.ones(tf.shape(memory)[:2], tf.bool),
        }

    return encoder_decoder(model, encode_pixels, spec, tokenizer)


#: Task name → how its LiteRT file is made: `program(model) → (signatures, asset)`.
PROGRAMS = {
    "text-classification": classifier,
    "token-classification": tagger,
    "text-generation": generator,
    "translation": translator,
    "image-captioning": captioner,
}
