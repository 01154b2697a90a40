"""Pictures of what the models do (matplotlib, an optional extra: `pip install seqapps[plots]`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "seqapps.plots needs matplotlib; install it with `pip install seqapps[plots]`"
        ) from None
    matplotlib.use("Agg")  # files only: no window, works without a display
    import matplotlib.pyplot as plt

    return plt


def attention_heatmap(
    attention: dict[str, Any], path: str | Path | None = None, *, title: str | None = None
):
    """Draws a translation's attention: source pieces across, target pieces down.

    Args:
        attention: what `Translator.translate(..., return_attention=True)`
            returns beside each translation: `{"source", "target", "weights"}`,
            weights `[target pieces, source pieces]`.
        path: where to save the picture (PNG by its suffix); None only returns it.
        title: written above the picture.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> translation, attention = model.translate("Jesus wept.", return_attention=True)  # doctest: +SKIP
    >>> seqapps.plots.attention_heatmap(attention, "attention.png")  # doctest: +SKIP
    """
    plt = _pyplot()
    source, target, weights = attention["source"], attention["target"], attention["weights"]
    if weights.shape != (len(target), len(source)):
        raise ValueError(
            f"weights have shape {weights.shape}, expected (target pieces, source pieces) = "
            f"({len(target)}, {len(source)})"
        )
    figure, axes = plt.subplots(
        figsize=(max(4.0, 0.38 * len(source) + 1.5), max(3.0, 0.32 * len(target) + 1.2))
    )
    axes.imshow(weights, cmap="viridis", aspect="auto", vmin=0.0, vmax=float(weights.max() or 1))
    axes.set_xticks(range(len(source)), [_shown(piece) for piece in source], rotation=90)
    axes.set_yticks(range(len(target)), [_shown(piece) for piece in target])
    axes.set_xlabel("source pieces")
    axes.set_ylabel("target pieces (written top to bottom)")
    axes.xaxis.set_ticks_position("top")
    axes.xaxis.set_label_position("top")
    if title:  # below the picture: its top holds the source pieces
        figure.supxlabel(title, fontsize=9)
    return _finished(figure, path)


def _finished(figure, path):
    """Lays the figure out and saves it to `path` (PNG by its suffix) unless None; returns it."""
    _lay_out(figure)
    if path is not None:
        figure.savefig(path, dpi=120)
        # Saved, it needs no pyplot window: a report of many pictures would otherwise keep
        # every figure alive (and warn past 20). The returned figure can still be saved again.
        _pyplot().close(figure)
    return figure


def _lay_out(figure, margin=0.15):
    """`tight_layout`, with the figure grown until every label and title lies inside it whole.

    A size chosen from the number of rows and columns can be too small for the labels: a
    two-word translation's vertical axis label is longer than its picture is high.
    """
    for _ in range(3):
        figure.tight_layout()
        width, height = figure.get_size_inches()
        drawn = figure.get_tightbbox(figure.canvas.get_renderer())  # in inches
        # a little inside: text measures a few pixels longer at the saved picture's dpi
        inner = margin / 2
        if min(drawn.x0, drawn.y0, width - drawn.x1, height - drawn.y1) >= inner:
            return
        figure.set_size_inches(
            max(width, drawn.width + 2 * margin), max(height, drawn.height + 2 * margin)
        )


def _shown(piece: str) -> str:
    """A SentencePiece piece as a reader knows it: the word-start mark becomes a space mark."""
    return piece.replace("\u2581", "\u2423")


def attention_overlay(
    image, attention: dict[str, Any], path: str | Path | None = None, *, title: str | None = None
):
    """Draws a caption's attention over its image: one panel per written piece.

    Args:
        image: the captioned image as a uint8 array `[H, W, 3]` (e.g. from
            `seqapps.tasks.images.images_to_array`).
        attention: what `ImageCaptioner.caption(..., return_attention=True)`
            returns beside each caption: `{"pieces", "weights"}`, weights
            `[pieces, grid height, grid width]` over the encoder's feature map.
        path: where to save the picture (PNG by its suffix); None only returns it.
        title: written below the panels.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> caption, attention = model.caption("dog.png", return_attention=True)  # doctest: +SKIP
    >>> seqapps.plots.attention_overlay(image, attention, "overlay.png")  # doctest: +SKIP
    """
    import numpy as np

    plt = _pyplot()
    pieces, weights = attention["pieces"], np.asarray(attention["weights"])
    image = np.asarray(image)
    if weights.ndim != 3 or len(weights) != len(pieces):
        raise ValueError(
            f"weights have shape {weights.shape}, expected (pieces, grid height, grid width) "
            f"with {len(pieces)} pieces"
        )
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must be [height, width, 3], got shape {image.shape}")
    columns = len(pieces) + 1
    figure, axes = plt.subplots(1, columns, figsize=(1.6 * columns, 2.0))
    extent = (0, image.shape[1], image.shape[0], 0)  # each grid cell covers its image patch
    axes[0].imshow(image)
    axes[0].set_title("image", fontsize=8)
    for axis, piece, weight in zip(axes[1:], pieces, weights):
        axis.imshow(image)
        axis.imshow(weight, cmap="magma", alpha=0.6, extent=extent, interpolation="bilinear")
        axis.set_title(_shown(piece), fontsize=8)
    for axis in axes:
        axis.axis("off")
    if title:
        figure.supxlabel(title, fontsize=9)
    return _finished(figure, path)


def gradient_flow_chart(
    curves: dict[str, Any], path: str | Path | None = None, *, title: str | None = None
):
    """Draws gradient norms against the distance from the output, one line per model, log scale.

    Args:
        curves: `{label: norms}` with `norms[d]` the mean gradient norm `d`
            steps before the output (`seqapps.inspect.gradient_flow`).
        path: where to save the picture (PNG by its suffix); None only returns it.

    Returns:
        The matplotlib `Figure`.
    """
    import numpy as np

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.0, 3.6))
    for label, norms in curves.items():
        norms = np.asarray(norms, dtype=float)
        axes.semilogy(np.arange(len(norms)), np.maximum(norms, 1e-30), label=label)
    axes.set_xlabel("steps before the output")
    axes.set_ylabel("gradient norm (log scale)")
    axes.legend()
    axes.grid(True, which="major", alpha=0.3)
    if title:
        axes.set_title(title, fontsize=9)
    return _finished(figure, path)


def state_heatmap(
    values, tokens, path: str | Path | None = None, *, units=None, title: str | None = None
):
    """Draws chosen units' values (a hidden state or a gate) over the tokens of a text.

    Args:
        values: `[time, units]`, e.g. `seqapps.inspect.trace(model, text)[0]["h"]`.
        tokens: the token (or character) read at each step, for the labels.
        units: the unit indices to show (default: the first 16).
        path: where to save the picture (PNG by its suffix); None only returns it.

    Returns:
        The matplotlib `Figure`.
    """
    import numpy as np

    plt = _pyplot()
    values = np.asarray(values)
    if values.ndim != 2 or len(values) != len(tokens):
        raise ValueError(
            f"values have shape {values.shape}, expected (steps, units) with {len(tokens)} steps"
        )
    units = list(range(min(16, values.shape[1]))) if units is None else list(units)
    shown = values[:, units].T
    figure, axes = plt.subplots(
        figsize=(max(4.0, 0.28 * len(tokens) + 1.5), max(2.0, 0.3 * len(units) + 1.0))
    )
    if shown.size and shown.min() >= 0.0 and shown.max() <= 1.0:  # a gate: a share, 0..1
        image = axes.imshow(shown, cmap="viridis", aspect="auto", vmin=0.0, vmax=1.0)
    else:  # a state: signed, centred on 0 (an LSTM's cell state may pass 1)
        limit = max(1.0, float(np.abs(shown).max(initial=0.0)))
        image = axes.imshow(shown, cmap="RdBu_r", aspect="auto", vmin=-limit, vmax=limit)
    axes.set_xticks(range(len(tokens)), [repr(t)[1:-1] for t in tokens], rotation=90, fontsize=7)
    axes.set_yticks(range(len(units)), [f"unit {u}" for u in units], fontsize=7)
    figure.colorbar(image, ax=axes, fraction=0.03)
    if title:
        axes.set_title(title, fontsize=9)
    return _finished(figure, path)


def unit_text(text: str, activations, path: str | Path | None = None, *, title: str | None = None):
    """Writes `text` with each character's background coloured by one unit's activation.

    Args:
        text: the passage, one activation per character (newlines start new lines).
        activations: `[len(text)]` values in -1..1, e.g. a column of
            `seqapps.inspect.trace(model, [text])[0]["h"]`; red is positive, blue negative.
        path: where to save the picture (PNG by its suffix); None only returns it.

    Returns:
        The matplotlib `Figure`.
    """
    import numpy as np

    plt = _pyplot()
    activations = np.asarray(activations, dtype=float)
    if activations.shape != (len(text),):
        raise ValueError(
            f"need one activation per character ({len(text)}), got {activations.shape}"
        )
    lines = text.split("\n")
    width = max(1, max(len(line) for line in lines) + 1)
    figure, axes = plt.subplots(figsize=(0.11 * width + 0.4, 0.22 * len(lines) + 0.5))
    colours = plt.get_cmap("RdBu_r")
    index = 0
    for row, line in enumerate(lines):
        for column, char in enumerate(line + "\n"):
            if index >= len(text):
                break
            value = (np.clip(activations[index], -1, 1) + 1) / 2
            axes.add_patch(plt.Rectangle((column, -row - 1), 1, 1, color=colours(value), lw=0))
            shown = "↵" if char == "\n" else char
            axes.text(
                column + 0.5,
                -row - 0.5,
                shown,
                ha="center",
                va="center",
                fontsize=7,
                family="monospace",
            )
            index += 1
    axes.set_xlim(0, width)
    axes.set_ylim(-len(lines), 0)
    axes.axis("off")
    if title:
        axes.set_title(title, fontsize=9)
    return _finished(figure, path)
