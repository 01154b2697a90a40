"""Shared recurrent blocks: the recurrent stack (attention and the step-able decoder join it here)."""

from seqapps.layers.recurrent import RecurrentStack

__all__ = ["RecurrentStack"]
