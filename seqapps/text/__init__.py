"""Preprocessors: raw text to ids and back (words and characters, or learned subwords)."""

from seqapps.text.subword import SubwordVectorizer, train_subword_model
from seqapps.text.vectorizer import TextVectorizer, build_vocabulary

__all__ = ["SubwordVectorizer", "TextVectorizer", "build_vocabulary", "train_subword_model"]
