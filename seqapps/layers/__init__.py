"""Shared blocks: the recurrent stack, attention, the step-able decoder and its state bridge,
a character encoder, a word embedding that starts from pretrained vectors, pooling over unpadded steps and one-hot vectors."""

from seqapps.layers.attention import Attention
from seqapps.layers.characters import CharacterEncoder
from seqapps.layers.decoder import AttentionDecoder, StateBridge
from seqapps.layers.embedding import WordEmbedding
from seqapps.layers.pooling import MaskedMaxPooling, MaskedMeanPooling, OneHot
from seqapps.layers.recurrent import RecurrentStack

__all__ = [
    "Attention",
    "AttentionDecoder",
    "CharacterEncoder",
    "MaskedMaxPooling",
    "MaskedMeanPooling",
    "OneHot",
    "RecurrentStack",
    "StateBridge",
    "WordEmbedding",
]
