"""What one request may ask of `seqapps serve` (no TensorFlow here: the command line checks them)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one request may ask.

    Args:
        max_batch_size: most rows (texts, images) per request, and per batched model call.
        max_length: most tokens a generating request may ask for (`max_length`).
        max_body_bytes: most bytes of a request body (larger: 413).
        max_text_chars: most characters of one text (a text, a prompt, a string option): a
            tagger pads every sentence of a call to the longest, so one long text costs
            every row of its batch.
        read_timeout: seconds a client may take to send its body (slower: 408).
        stream_timeout: seconds one streamed answer may run before it is ended.
    """

    max_batch_size: int = 64
    max_length: int = 512
    max_body_bytes: int = 4 * 1024 * 1024
    max_text_chars: int = 20_000
    read_timeout: float = 10.0
    stream_timeout: float = 300.0

    def __post_init__(self):
        for name in ("max_batch_size", "max_length", "max_body_bytes", "max_text_chars"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("read_timeout", "stream_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
