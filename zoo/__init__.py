"""The zoo of pretrained seqapps entries: cards (plain data), weight files and recipes."""

from seqapps.zoo.model_card import format_card
from seqapps.zoo.registry import (
    WeightsDownloadError,
    ZooEntry,
    describe,
    get_entry,
    list_models,
    register,
    resolve_weights,
    sha256_of,
    verify_file,
)

__all__ = [
    "WeightsDownloadError",
    "ZooEntry",
    "describe",
    "format_card",
    "get_entry",
    "list_models",
    "register",
    "resolve_weights",
    "sha256_of",
    "verify_file",
]
