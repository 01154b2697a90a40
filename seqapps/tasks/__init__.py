"""Task models: one module per application, all built from the shared blocks."""

from seqapps.tasks.task import Task
from seqapps.tasks.text_classifier import TextClassifier

#: Task name (as written in zoo cards) → model class.
TASKS = {cls.task_name: cls for cls in (TextClassifier,)}

__all__ = ["TASKS", "Task", "TextClassifier"]
