"""Preprocessors: raw text to ids and back."""

from seqapps.text.vectorizer import TextVectorizer, build_vocabulary

__all__ = ["TextVectorizer", "build_vocabulary"]
