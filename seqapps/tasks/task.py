"""What every seqapps task shares: presets, raw-input handling, fine-tuning and export."""

import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqapps import safe_write
from seqapps._quiet import progress_verbosity
from seqapps.checks import check_float, check_int, check_positive_int
from seqapps.tasks.heads import head_change, head_examples, reordered
from seqapps.tasks.inputs import check_compile_options, check_list, refuse_file
from seqapps.tasks.preset_files import cast_stored_weights as _cast_stored_weights
from seqapps.tasks.preset_files import load_keras_file as _load_keras_file
from seqapps.tasks.rows import examples_of, padded, renumbered, unbatched  # noqa: F401 (for tasks)
from seqapps.tasks.serving import answering_empty_batches
from seqapps.version import __version__


class Task(keras.Model):
    """Base class of the task models: a functional `keras.Model` over raw input.

    A subclass builds its layers and functional graph in `__init__`, lists its
    constructor arguments in `get_config`, and names its parts so that
    `from_preset(..., **overrides)` can keep the pretrained ones and replace the
    rest. `fit`, `evaluate` and `predict` are Keras's own; they also accept
    Python lists and pandas Series of raw strings.
    """

    #: Registry key of the task, e.g. `"text-classification"`; set by subclasses.
    task_name = None
    #: What the command line and `seqapps.inspect` need to know: the verb, how
    #: inputs are read and answers printed, the options (`seqapps.interface`).
    interface = None
    #: Layers that start afresh when an override changes one of `head_arguments`
    #: (e.g. another label set); set by subclasses.
    head_layers = ()
    head_arguments = ()
    #: What one fine-tuning example is called in errors ("sentences", "images", ...).
    finetune_unit = "examples"

    @classmethod
    def from_config(cls, config):
        # `get_config` lists exactly the constructor's arguments.
        return cls(**config)

    # -- presets ---------------------------------------------------------------

    @classmethod
    def from_preset(cls, preset, **overrides):
        """Loads a zoo entry by name, or a `.keras` file saved by `save_preset` (or a folder
        holding `model.keras`).

        Keyword arguments override constructor arguments (see `reconfigure`): new
        `labels` give a fresh head on the pretrained layers, the same ones in
        another order the trained head reordered; every other weight is kept.
        """
        from seqapps.zoo import resolve_weights

        path, entry_task = resolve_weights(preset)
        if entry_task is not None and entry_task != cls.task_name and cls is not Task:
            raise ValueError(
                f"{preset!r} is a {entry_task!r} entry, not {cls.task_name!r}; "
                f"load it with seqapps.load({preset!r})"
            )
        model = _load_keras_file(path)
        if not isinstance(model, Task):
            raise ValueError(f"{path} does not hold a seqapps task model")
        if cls is not Task and not isinstance(model, cls):
            raise ValueError(
                f"{preset!r} holds a {type(model).__name__} ({model.task_name!r}), "
                f"not a {cls.__name__}; load it with seqapps.load({preset!r})"
            )
        if overrides:
            model = model.reconfigure(**overrides)
        # Kept out of Keras's attribute tracking: it names where the weights came from.
        model.__dict__["_preset_source"] = (
            str(preset) if entry_task else str(path.relative_to(Path(preset).parent)),
            sorted(overrides),
        )
        return model

    def __repr__(self):
        source, overrides = self.__dict__.get("_preset_source", (None, ()))
        head = type(self).__name__
        if source is not None:
            head += f" {source!r}"
            if overrides:
                head += f" with {', '.join(overrides)} changed"
        try:
            size = f", {self.count_params():,} parameters"
        except ValueError:  # not built yet
            size = ""
        return f"<{head}: {self.task_name}{size}>"

    def reconfigure(self, **overrides):
        """A copy with some constructor arguments changed and the weights carried over.

        Every layer keeps its weights, except the head when an override changes a
        head argument (e.g. `labels`): then the head starts afresh; the same names
        in another order keep the trained head, reordered. An override that
        changes the shape of a pretrained layer raises.
        """
        config = self.get_config()
        unknown = sorted(set(overrides) - set(config))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no argument(s) {unknown}; choose among {sorted(config)}"
            )
        overrides, fresh_head, order = head_change(config, overrides, self.head_arguments)
        config.update(overrides)
        model = type(self).from_config(config)
        for layer in model.layers:
            if not layer.weights or (fresh_head and layer.name in self.head_layers):
                continue
            source_weights = self.get_layer(layer.name).get_weights()
            if order is not None and layer.name in self.head_layers:
                source_weights = reordered(source_weights, order)
            if [w.shape for w in source_weights] != [w.shape for w in layer.get_weights()]:
                raise ValueError(
                    f"cannot keep the pretrained layer {layer.name!r} with these "
                    f"overrides ({overrides}); its weight shapes change"
                )
            layer.set_weights(source_weights)
        return model

    def save_preset(self, path, weights_dtype=None, *, overwrite=False):
        """Saves config and weights (no optimizer state) as one `.keras` file.

        An existing file is replaced only with `overwrite=True`, and only if it
        is a `.keras` preset; anything else at `path` is refused
        (`FileExistsError`). The file is written beside its destination and
        moved into place, so a failed save leaves any previous file intact.
        `weights_dtype="float16"` stores the float weights at half precision
        (half the file); loading casts them back, so the model still computes
        in its own precision.
        """
        path = Path(path)
        if path.name == ".keras":
            raise ValueError(
                f"{str(path)!r} has no name before .keras; name the file, e.g. model.keras"
            )
        if path.suffix != ".keras":
            raise ValueError(f"a preset file must end in .keras, got {str(path)!r}")
        if weights_dtype not in (None, "float16"):
            raise ValueError(f"weights_dtype must be None or 'float16', got {weights_dtype!r}")

        def write(staging):
            clean = type(self).from_config(self.get_config())
            clean.set_weights(self.get_weights())
            clean.save(staging)
            if weights_dtype:
                _cast_stored_weights(staging, weights_dtype)

        return safe_write.write_file(path, write, overwrite=overwrite)

    # -- fine-tuning -------------------------------------------------------------

    def finetune(
        self,
        x,
        y=None,
        *,
        validation_data=None,
        validation_fraction=0.1,
        epochs=10,
        batch_size=32,
        learning_rate=3e-4,
        patience=2,
        freeze=(),
        seed=0,
        verbose="auto",
        backup_dir=None,
        callbacks=(),
        **compile_options,
    ):
        """Trains on the user's data with defaults suited to a pretrained model.

        A learning rate below the from-scratch one, early stopping on a
        validation split with the best weights restored, and optionally frozen
        parts (`freeze=("embedding",)` or `("embedding", "encoder")`). The data
        takes one path in every task: `finetune_examples` makes an unbatched
        `tf.data.Dataset` of raw `(input, target)` examples, of which
        `seqapps.datasets.hold_out` keeps `validation_fraction` for validation
        by a hash of each input (the same split for the same data, whatever
        its order or `seed`), and `finetune_batches` batches both sides.

        Args:
            x: inputs, or a `tf.data.Dataset` of `(input, target)` examples (a
                dataset batched to the model's input rank is unbatched first).
            y: targets when `x` holds inputs only.
            validation_data: `(inputs, targets)` or a dataset like `x`.
            backup_dir: a folder where the training state is saved after every
                epoch (`keras.callbacks.BackupAndRestore`): a run that is killed
                resumes there when started again with the same arguments, and
                ends with the same number of epochs; the folder is removed when
                training completes, so it must be new, empty or an earlier backup
                (anything else is refused before training).
            callbacks: further Keras callbacks for `fit`.
            **compile_options: further arguments to `compile`, e.g.
                `adversarial_epsilon=0.2` for a `TextClassifier`.

        Returns:
            The Keras `History`.
        """
        from seqapps import datasets

        check_compile_options(self, compile_options)
        epochs = check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(batch_size, "batch_size")
        learning_rate = check_float(learning_rate, "learning_rate", low=0, open_low=True)
        patience = check_int(patience, "patience", low=0)
        check_float(
            validation_fraction, "validation_fraction", low=0, high=1, open_low=True, open_high=True
        )
        freeze = (
            [freeze] if isinstance(freeze, str) else check_list(freeze, "freeze", "layer names")
        )
        names = [layer.name for layer in self.layers]
        for name in freeze:
            if name not in names:
                raise ValueError(f"freeze names {name!r}, which is no layer; choose among {names}")
        examples = self.finetune_examples(x, y)
        if validation_data is None:
            examples, validation_data = datasets.hold_out(
                examples, validation_fraction, what=self.finetune_unit
            )
        elif isinstance(validation_data, tuple):
            validation_data = self.finetune_examples(*validation_data)
        else:
            validation_data = self.finetune_examples(validation_data)
        train = self.finetune_batches(examples, batch_size, shuffle=True, seed=seed)
        validation_data = self.finetune_batches(validation_data, batch_size)
        for name in freeze:
            self.get_layer(name).trainable = False
        self.compile(optimizer=keras.optimizers.Adam(learning_rate), **compile_options)
        stop = keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=patience, restore_best_weights=True
        )
        callbacks = [stop, *callbacks]
        if backup_dir is not None:  # after `stop`, whose state it keeps
            backup = safe_write.backup_and_restore(backup_dir, early_stopping=stop, data=train)
            callbacks.insert(1, backup)
        return super().fit(
            train,
            validation_data=validation_data,
            epochs=epochs,
            callbacks=callbacks,
            shuffle=False,  # the dataset is shuffled in finetune_batches
            verbose=progress_verbosity(verbose),
        )

    def finetune_examples(self, x, y=None):
        """One unbatched `tf.data.Dataset` of raw `(input, target)` examples from what
        `finetune` takes: a dataset as it is, or inputs and targets checked and read once."""
        if isinstance(x, tf.data.Dataset):
            if y is not None:
                raise ValueError("pass targets inside the tf.data.Dataset, not as y")
            return head_examples(x, self, len(tf.nest.flatten(self.inputs)[0].shape) - 1)
        refuse_file(x, "x")
        check_list(x, "x", "a list of inputs")  # refuses a string read one character at a time
        if y is not None:
            check_list(y, "y", "a list of targets")
        return examples_of(self._raw_inputs(x), self._raw_targets(y))

    def finetune_batches(self, examples, batch_size, *, shuffle=False, seed=0):
        """The batches `fit` reads from `finetune_examples`' dataset (shuffled with `seed`)."""
        if shuffle:
            size = int(examples.cardinality())
            examples = examples.shuffle(size if size > 0 else 10_000, seed=seed)
        return examples.padded_batch(batch_size).prefetch(tf.data.AUTOTUNE)

    # -- Keras entry points accepting raw Python input ---------------------------

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Under a tf.distribute strategy Keras averages one batch over the replicas
        # only to learn its shapes and dtypes, and averaging strings fails
        # (tensorflow/tensorflow#80951). The first replica's share has the same
        # shapes and dtypes, so build from that.
        if iterator is not None and self._distribute_strategy is not None:
            replicas = self.distribute_strategy.experimental_local_results
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(lambda v: replicas(v)[0], next(batches))
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def train_step(self, data):
        return self._logs_for_strategy(super().train_step(data))

    def test_step(self, data):
        return self._logs_for_strategy(super().test_step(data))

    def _logs_for_strategy(self, logs):
        # Under a MultiWorkerMirroredStrategy Keras 3 reduces every log over the
        # workers along axis 0, which a scalar lacks, and fit fails
        # (tensorflow/tensorflow#72388). A one-element log reduces to the mean.
        from keras.src.backend.tensorflow import trainer

        multi_worker = getattr(trainer, "_collective_all_reduce_multi_worker", None)
        if multi_worker is None or not multi_worker(self.distribute_strategy):
            return logs
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", **kwargs):
        if isinstance(x, tf.data.Dataset):
            kwargs.setdefault("shuffle", False)  # a dataset shuffles itself; Keras would warn
        return super().fit(
            self._raw_inputs(x),
            self._raw_targets(y),
            batch_size=batch_size,
            epochs=epochs,
            verbose=progress_verbosity(verbose),
            **kwargs,
        )

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", **kwargs):
        x = self._raw_inputs(x)
        return super().evaluate(
            x,
            self._raw_targets(y),
            batch_size=batch_size,
            verbose=progress_verbosity(verbose, x, batch_size),
            **kwargs,
        )

    def predict(self, x, batch_size=None, verbose="auto", **kwargs):
        """Keras's `predict` on raw input; `verbose="auto"` shows a progress bar only
        on a terminal and for more than one batch."""
        x = self._raw_inputs(x)
        verbose = progress_verbosity(verbose, x, batch_size)
        return super().predict(x, batch_size=batch_size, verbose=verbose, **kwargs)

    def call_in_batches(self, inputs, batch_size=64):
        """Inference for the plain verbs, without Keras's `predict` loop.

        One traced function is reused for every call, which keeps the latency of
        a single text low; `predict` builds a data pipeline per call.
        """
        check_positive_int(batch_size, "batch_size")
        function = self.__dict__.get("_inference_function")
        if function is None:
            function = tf.function(lambda x: self(x, training=False), reduce_retracing=True)
            # Set through __dict__: a tf.function is no layer or variable for Keras to track.
            self.__dict__["_inference_function"] = function
        outputs = [
            function(tf.constant(inputs[start : start + batch_size])).numpy()
            for start in range(0, len(inputs), batch_size)
        ]
        return np.concatenate(outputs)

    def _raw_inputs(self, x):
        """Lists and pandas Series of strings become arrays Keras accepts."""
        if isinstance(x, (list, tuple)) or type(x).__name__ == "Series":
            return np.asarray(list(x), dtype=object)
        return x

    def _raw_targets(self, y):
        if isinstance(y, (list, tuple)) or type(y).__name__ == "Series":
            return np.asarray(list(y))
        return y

    # -- hooks of the command line and inspect (see seqapps.interface) ------------

    def answer(self, inputs, **options):
        """One JSON-ready answer per input: it, and the verb's result (or `interface.output`)."""
        face = self.interface
        results = getattr(self, face.verb)(list(inputs), **options)
        results = [out if isinstance(out, dict) else {face.output: out} for out in results]
        return [{face.inputs: item, **out} for item, out in zip(inputs, results)]

    def plain(self, inputs, **options):
        """Plain output in pieces, written as each is ready: one line per input (`interface.plain`)."""
        for answer in self.answer(inputs, **options):
            yield self.interface.plain.format_map(answer) + "\n"

    def finetune_data(self, **data):
        """`(model to train, finetune's arguments, its keyword arguments)` from the `seqapps
        finetune` options the interface declares; the model is itself or has a fresh head."""
        raise NotImplementedError(f"{type(self).__name__} declares no fine-tuning data")

    def with_head(self, **names):
        """Itself if its head covers `names` (e.g. `labels=[...]`), else a copy with a fresh head
        for them on the pretrained layers (said on stderr)."""
        ((argument, new),) = names.items()
        if set(new) <= set(getattr(self, argument)):
            return self
        message = f"{argument} {new} differ from the model's {getattr(self, argument)}"
        print(
            f"{message}: a fresh head is trained for them on the pretrained layers", file=sys.stderr
        )
        return self.reconfigure(**names)

    def finetune_summary(self, history):
        """What `seqapps finetune` says after training, besides the validation loss."""
        return [f"{name} {getattr(self, name)}" for name in self.head_arguments]

    def inspect_inputs(self, texts):
        """`(model inputs, tokens per text)`: what `seqapps.inspect` feeds the model for `texts`,
        and the token each step of its recurrent stack reads."""
        raise NotImplementedError(f"{type(self).__name__} does not say what its tokens are")

    def inspect_decoder(self, inputs):
        """`(stack, vectors [1, time, features], initial state, tokens)` of a decoder writing its
        answer to `inputs[0]`, for `seqapps.inspect`; None: the task has no decoder."""

    # -- export ----------------------------------------------------------------

    def serving_endpoints(self):
        """`{name: (function, input_signature)}` of the SavedModel; the first is the default."""
        raise NotImplementedError

    def export(self, filepath, format="tf_saved_model", verbose=False, *, overwrite=False, **kw):
        """Writes a SavedModel that serves raw input, with no seqapps needed to load it
        (`format="litert"`: LiteRT files instead, see `seqapps.litert`).

        `filepath` must be a new or empty folder, or, with `overwrite=True`, an earlier seqapps
        export (recognised by its `seqapps_export.json`); any other existing path is refused with
        `FileExistsError`. The export is written beside its destination and moved into place, so
        an existing export is only ever replaced by a complete one.
        """
        if format == "litert":
            from seqapps.litert import export_litert

            return export_litert(self, filepath, overwrite=overwrite, verbose=verbose)
        if format != "tf_saved_model":
            raise ValueError(f"export format must be 'tf_saved_model' or 'litert', got {format!r}")

        def write(staging):
            archive = keras.export.ExportArchive()
            archive.track(self)
            for index, (name, (fn, signature)) in enumerate(self.serving_endpoints().items()):
                fn = answering_empty_batches(fn, signature)
                archive.add_endpoint("serving_default" if index == 0 else name, fn, signature)
                if index == 0:
                    archive.add_endpoint(name, fn, signature)
            archive.write_out(str(staging), verbose=verbose)
            self._write_export_assets(staging / "assets")

        marker = {"exported_by": "seqapps", "version": __version__, "task": self.task_name}
        # Traced on the CPU: an export traced on a GPU can carry cuDNN-only ops.
        with tf.device("/CPU:0"):
            return safe_write.write_directory(filepath, write, overwrite=overwrite, marker=marker)

    def _write_export_assets(self, assets_dir):
        """Hook for tasks that ship readable files (e.g. label names) with an export."""


def string_signature(name="inputs"):
    return [tf.TensorSpec([None], tf.string, name=name)]
