"""A softmax head's names (labels, tags): checked once, and kept in a new order on reload."""

from collections import Counter
from collections.abc import Iterable

from seqapps.checks import shown


def head_names(names, argument: str) -> list[str]:
    """`names` as a list of distinct strings, at least two; a single string is refused (it
    would be read letter by letter), and so is anything that is not a list of names."""
    if isinstance(names, (str, bytes)):
        raise TypeError(
            f"{argument} must be a list of names, got the string {names!r}; "
            f"pass a list such as [{names!r}, ...]"
        )
    if not isinstance(names, Iterable):
        raise TypeError(f"{argument} must be a list of names, got {shown(names)}")
    names = [str(name) for name in names]
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if len(names) < 2 or repeated:
        problem = f"{repeated[0]!r} is repeated" if repeated else f"got {names}"
        raise ValueError(f"{argument} must be at least two distinct names; {problem}")
    return names


def head_change(config: dict, overrides: dict, head_arguments) -> tuple[dict, bool, list | None]:
    """How `overrides` change a head: `(overrides, fresh, order)`.

    The overrides come back with their head names as `head_names` lists (a
    generator of names is read once, here). `fresh` when a head argument gets
    other names, so the head starts afresh; `order` when the one changed argument
    keeps the same names in another order: the trained head is kept, output `i`
    taken from the old output `order[i]`.
    """
    names = {key: head_names(overrides[key], key) for key in head_arguments if key in overrides}
    overrides = {**overrides, **names}
    changed = [key for key in names if config[key] != names[key]]
    if len(changed) != 1 or sorted(config[changed[0]]) != sorted(names[changed[0]]):
        return overrides, bool(changed), None
    return overrides, False, [config[changed[0]].index(name) for name in names[changed[0]]]


def reordered(weights: list, order: list) -> list:
    """A softmax head's weights with its outputs in `order` (the last axis of a Dense layer's
    kernel and bias)."""
    if any(w.shape[-1] != len(order) for w in weights):
        raise ValueError("this head's weights do not end on its outputs; it cannot be reordered")
    return [w[..., order] for w in weights]


def head_examples(dataset, model, rank: int):
    """A fine-tuning dataset as unbatched `(input, ids)` examples (`unbatched`, inputs of
    `rank`), refused when its ids name other labels than the model's or fall outside its head."""
    from seqapps.tasks.rows import unbatched

    check_label_names(dataset, model)
    examples = unbatched(dataset, rank)
    check_target_ids(examples, model)
    return examples


def check_label_names(dataset, model) -> None:
    """Refuses a dataset whose target ids name other labels than the model's ids do.

    The `seqapps.datasets` readers number the labels they read in their own order
    and leave the names on the dataset (`dataset.label_names`); ids mean the model's
    labels, so training on ids that mean other names would teach it the wrong ones.
    """
    given = getattr(dataset, "label_names", None)
    if given is None or len(model.head_arguments) != 1:
        return
    (argument,) = model.head_arguments
    if list(given) != list(getattr(model, argument))[: len(given)]:  # id i names given[i]
        raise ValueError(
            f"the dataset's ids name the {argument} {list(given)}, the model's ids name "
            f"{getattr(model, argument)}: read the data with label_names=model.{argument}, or "
            f"load the model with {argument}={list(given)} (the same names in another order "
            f"keep the trained head; other names get a fresh one)"
        )


def check_target_ids(examples, model) -> None:
    """Refuses a dataset of `(input, ids)` examples with an integer id outside the model's head
    (`labels` or `tags`), before training fails on it inside TensorFlow."""
    import tensorflow as tf

    if len(model.head_arguments) != 1:
        return
    (argument,) = model.head_arguments
    spec = examples.element_spec
    if not isinstance(spec, tuple) or len(spec) != 2:
        raise ValueError(
            f"a dataset to fine-tune on holds (input, {argument.removesuffix('s')} ids) pairs; "
            f"this one holds {spec}"
        )
    if not spec[1].dtype.is_integer:
        return
    names = getattr(model, argument)
    low, high = examples.reduce(
        (tf.constant(0, tf.int64), tf.constant(0, tf.int64)),
        lambda bounds, example: (
            tf.minimum(bounds[0], tf.reduce_min(tf.cast(example[1], tf.int64))),
            tf.maximum(bounds[1], tf.reduce_max(tf.cast(example[1], tf.int64))),
        ),
    )
    if low < 0 or high >= len(names):
        one = argument.removesuffix("s")
        raise ValueError(
            f"the dataset's {one} ids run from {int(low)} to {int(high)}, outside "
            f"0..{len(names) - 1} of the model's {argument} {names}; read the file with "
            f"label_names=model.{argument}, or load the model with {argument}=[...] naming "
            f"every {one}"
        )
