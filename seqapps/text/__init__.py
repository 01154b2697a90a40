"""Preprocessors: raw text to ids and back (words and characters, or learned subwords)."""

from seqapps.text.subword import SubwordVectorizer, train_subword_model
from seqapps.text.tokens import CharacterLookup, TokenLookup, split_words
from seqapps.text.vectorizer import TextVectorizer, build_vocabulary
from seqapps.text.vectors import WordVectors, load_vectors

__all__ = [
    "CharacterLookup",
    "SubwordVectorizer",
    "TokenLookup",
    "split_words",
    "TextVectorizer",
    "build_vocabulary",
    "train_subword_model",
    "WordVectors",
    "load_vectors",
]
