"""Task models: one module per application, all built from the shared blocks."""

from seqapps.tasks.image_captioner import ImageCaptioner
from seqapps.tasks.sequence_tagger import SequenceTagger
from seqapps.tasks.task import Task
from seqapps.tasks.text_classifier import TextClassifier
from seqapps.tasks.text_generator import TextGenerator
from seqapps.tasks.translator import Translator

#: Task name (as written in zoo cards) → model class.
TASKS = {
    cls.task_name: cls
    for cls in (TextClassifier, TextGenerator, Translator, ImageCaptioner, SequenceTagger)
}

__all__ = [
    "TASKS",
    "ImageCaptioner",
    "SequenceTagger",
    "Task",
    "TextClassifier",
    "TextGenerator",
    "Translator",
]
