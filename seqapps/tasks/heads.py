"""A softmax head's names (labels, tags): checked once, and kept in a new order on reload."""


def head_names(names, argument: str) -> list[str]:
    """`names` as a list of distinct strings, at least two; a single string is refused (it
    would be read letter by letter)."""
    if isinstance(names, (str, bytes)):
        raise TypeError(
            f"{argument} must be a list of names, got the string {names!r}; "
            f"pass a list such as [{names!r}, ...]"
        )
    names = [str(name) for name in names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"{argument} must be at least two distinct names, got {names}")
    return names


def head_change(config: dict, overrides: dict, head_arguments) -> tuple[bool, list | None]:
    """How `overrides` change a head: `(fresh, order)`.

    `fresh` when a head argument gets other names, so the head starts afresh.
    `order` when the one changed argument keeps the same names in another order:
    the trained head is kept, output `i` taken from the old output `order[i]`.
    """
    changed = [key for key in head_arguments if key in overrides and config[key] != overrides[key]]
    if len(changed) != 1 or isinstance(overrides[changed[0]], (str, bytes)):
        return bool(changed), None
    old, new = (
        [str(name) for name in names] for names in (config[changed[0]], overrides[changed[0]])
    )
    if sorted(old) != sorted(new) or len(set(new)) != len(new):
        return True, None
    return False, [old.index(name) for name in new]
