"""Shared recurrent blocks: the recurrent stack, attention, the step-able decoder and its state bridge."""

from seqapps.layers.attention import Attention
from seqapps.layers.decoder import AttentionDecoder, StateBridge
from seqapps.layers.recurrent import RecurrentStack

__all__ = ["Attention", "AttentionDecoder", "RecurrentStack", "StateBridge"]
