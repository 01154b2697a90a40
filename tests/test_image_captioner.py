"""ImageCaptioner on a tiny config: images in every form, both conditionings, search, export."""

import io

import keras
import numpy as np
import pytest
from PIL import Image

from harness import assert_config_round_trip, load_export_without_seqapps
from seqapps.tasks import ImageCaptioner, Task
from seqapps.tasks.images import images_to_array
from seqapps.text import train_subword_model

COLORS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 220)}
ITEMS = [(color, shape) for color in COLORS for shape in ("square", "circle")]
CAPTIONS = [f"{color} {shape}" for color, shape in ITEMS]


def draw(color, shape, size=32):
    image = np.full((size, size, 3), 255, np.uint8)
    yy, xx = np.mgrid[:size, :size] * (32 / size)
    inside = (
        (abs(yy - 16) < 8) & (abs(xx - 16) < 8)
        if shape == "square"
        else ((yy - 16) ** 2 + (xx - 16) ** 2 < 64)
    )
    image[inside] = COLORS[color]
    return image


IMAGES = np.stack([draw(color, shape) for color, shape in ITEMS])


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


#: conditioning → (learning rate, batch size, epochs) over the 60 toy pairs. Attention learns
#: them exactly in 80 steps; Show-and-Tell ("init") is given its first budget (200 steps at
#: 3e-3), for which its assertions below were written, and runs under `-m slow`.
BUDGETS = {"attention": (1e-2, 16, 20), "init": (3e-3, 32, 100)}


@pytest.fixture(scope="module", params=["attention", pytest.param("init", marks=pytest.mark.slow)])
def model(request):
    learning_rate, batch_size, epochs = BUDGETS[request.param]
    keras.utils.set_random_seed(0)
    captioner = ImageCaptioner(
        train_subword_model(CAPTIONS * 10, 30),
        image_size=(32, 32),
        conditioning=request.param,
        units=32,
        embedding_dim=16,
    )
    captioner.compile(optimizer=keras.optimizers.Adam(learning_rate))
    images = np.concatenate([IMAGES] * 10)
    data = captioner.make_dataset(images, CAPTIONS * 10, batch_size=batch_size, shuffle=True)
    captioner.fit(data, epochs=epochs, verbose=0)
    return captioner


def test_the_toy_captions_are_learned_greedy_and_by_beam(model):
    greedy, beam = model.caption(IMAGES), model.caption(IMAGES, beam_size=3)
    if model.conditioning == "attention":
        assert greedy == beam == CAPTIONS
    else:
        # Show-and-Tell sees the image only as its mean feature vector, through the first
        # state; this tiny budget leaves it one shape short (blue disc vs. blue square).
        assert sum(g == c for g, c in zip(greedy, CAPTIONS)) >= 5
        assert [g.split()[0] for g in greedy] == [c.split()[0] for c in CAPTIONS]  # colours
        assert beam == greedy


def test_every_image_form_gives_the_same_caption(model, tmp_path):
    image = IMAGES[4]  # blue square
    path = tmp_path / "blue.png"
    path.write_bytes(png(image))
    forms = [image, png(image), path, str(path), Image.fromarray(image)]
    assert [model.caption(form) for form in forms] == ["blue square"] * len(forms)
    assert model.caption(forms) == ["blue square"] * len(forms)
    assert model.caption([]) == []
    larger = draw("blue", "square", size=200)  # resized to the model's 32 x 32
    assert model.caption(larger) == "blue square"
    huge = np.full((4000, 4000, 3), 255, np.uint8)
    tiny = np.full((1, 1, 3), 30, np.uint8)
    mixed = model.caption([image, huge, tiny, larger])  # mixed sizes in one batch
    assert mixed[0] == mixed[3] == "blue square" and all(isinstance(c, str) for c in mixed)


def test_other_image_kinds_are_converted():
    rgba = np.zeros((4, 4, 4), np.uint8)  # fully transparent: white
    gray = Image.new("L", (4, 4), 128)
    sixteen = Image.new("I;16", (4, 4), 65535)
    palette = Image.new("RGB", (4, 4), (0, 0, 255)).convert("P")
    converted, single = images_to_array(
        [rgba, png(np.asarray(gray)), gray, sixteen, palette], (2, 2)
    )
    assert not single and converted.shape == (5, 2, 2, 3) and converted.dtype == np.uint8
    assert converted[0].tolist() == [[[255] * 3] * 2] * 2
    assert converted[1][0, 0].tolist() == [128] * 3 == converted[2][0, 0].tolist()
    assert converted[3][0, 0].tolist() == [255] * 3
    assert converted[4][0, 0].tolist() == [0, 0, 255]


def test_bad_images_are_refused_naming_the_index(model, tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    truncated = png(IMAGES[0])[:40]
    with pytest.raises(ValueError, match=r"images\[1\] .*notes\.png.* cannot be decoded"):
        model.caption([IMAGES[0], tmp_path / "notes.png"])
    with pytest.raises(ValueError, match=r"images\[0\] cannot be decoded"):
        model.caption([truncated])
    with pytest.raises(FileNotFoundError, match=r"images\[0\]: no image file"):
        model.caption(tmp_path / "missing.png")
    with pytest.raises(
        ValueError, match=r"images\[0\] is an empty path; give the path of an image"
    ):
        model.caption("")
    with pytest.raises(ValueError, match=r"must be uint8"):
        model.caption(np.zeros((4, 4), np.int64))
    with pytest.raises(TypeError, match=r"images\[1\] is NoneType"):
        model.caption([IMAGES[0], None])
    with pytest.raises(TypeError, match=r"images is NoneType, not an image or a list of images"):
        model.caption(None)
    with pytest.raises(ValueError, match="beam_size"):
        model.caption(IMAGES[0], beam_size=0)


def test_attention_maps_cover_the_feature_grid(model, tmp_path):
    if model.conditioning != "attention":
        with pytest.raises(ValueError, match="conditioning='attention'"):
            model.caption(IMAGES[0], return_attention=True)
        return
    caption, attention = model.caption(IMAGES[0], return_attention=True)
    assert caption == "red square" and attention["pieces"][-1] == "</s>"
    weights = attention["weights"]
    assert weights.shape == (len(attention["pieces"]), 4, 4)  # 32 px / 2**3 pooling
    np.testing.assert_allclose(weights.sum(axis=(1, 2)), 1.0, rtol=1e-4)
    from seqapps import plots

    figure = plots.attention_overlay(IMAGES[0], attention, tmp_path / "overlay.png")
    assert (tmp_path / "overlay.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [axis.get_title() for axis in figure.axes[1:]] == [
        plots._shown(piece) for piece in attention["pieces"]
    ]
    with pytest.raises(ValueError, match="expected"):
        plots.attention_overlay(IMAGES[0], {**attention, "weights": weights[:1]})


def test_score_counts_every_reference_and_exact_matches(model):
    if model.conditioning != "attention":
        return
    perfect = model.score(IMAGES, CAPTIONS)
    # Two-word captions have no 4-grams: corpus BLEU-4 is 0 however right they are.
    assert perfect == {"bleu4": 0.0, "bleu1": 100.0, "exact_match": 1.0, "distinct": 6}
    wrong = [f"{shape} {color}" for color, shape in ITEMS]  # right words, wrong order
    shuffled = model.score(IMAGES, [[w] for w in wrong])
    assert shuffled["bleu1"] == 100.0 and shuffled["exact_match"] == 0
    either = model.score(IMAGES, [[w, c] for w, c in zip(wrong, CAPTIONS)])  # any reference counts
    assert either["exact_match"] == 1.0
    with pytest.raises(ValueError, match="non-empty list"):
        model.score(IMAGES, [[]] * 6)


def test_config_preset_and_export_round_trips(model, tmp_path):
    assert_config_round_trip(model)
    restored = Task.from_preset(model.save_preset(tmp_path / "captioner.keras"))
    assert restored.caption(IMAGES) == model.caption(IMAGES)
    model.export(tmp_path / "export")
    encoded = [png(image) for image in IMAGES]
    served = load_export_without_seqapps(tmp_path / "export", encoded, imports=("tensorflow_text",))
    assert served["captions"] == model.caption(encoded)


def test_unknown_encoders_are_refused_and_backbones_build_offline():
    with pytest.raises(ValueError, match="unknown image encoder 'resnet9000'"):
        ImageCaptioner(train_subword_model(CAPTIONS, 30), encoder="resnet9000")
    backbone = ImageCaptioner(
        train_subword_model(CAPTIONS, 30),
        encoder="MobileNetV3Small",
        image_size=(32, 32),
        units=8,
        embedding_dim=8,
    )
    assert backbone.caption(IMAGES[0]) is not None


def test_the_cli_captions_files(model, tmp_path, capsys):
    import json

    from seqapps.cli import main

    preset = model.save_preset(tmp_path / "captioner.keras")
    paths = []
    for index in (0, 3):
        paths.append(tmp_path / f"{index}.png")
        paths[-1].write_bytes(png(IMAGES[index]))
    assert main(["caption", str(preset), *map(str, paths), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["caption"] for row in rows] == model.caption(paths)
    assert main(["caption", str(preset), *map(str, paths), "--no-repeat-ngram-size", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == model.caption(paths, no_repeat_ngram_size=1)
    assert main(["translate", str(preset), "hello"]) == 2
    assert "run it with `seqapps caption" in capsys.readouterr().err

    # An image that does not decode, third in a batch of four: the two before it are answered,
    # and the error names its line in the list.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    listed = tmp_path / "photos.txt"
    listed.write_text("\n".join(map(str, [*paths, broken, paths[0]])) + "\n", encoding="utf-8")
    assert main(["caption", str(preset), "--file", str(listed)]) == 1
    out, err = capsys.readouterr()
    assert [line.split("\t")[0] for line in out.splitlines()] == model.caption(paths)
    assert f"error: {listed} line 3: images[0] ({broken}) cannot be decoded" in err


def test_finetune_on_an_image_folder_and_a_captions_csv(model, tmp_path, capsys):
    from seqapps import datasets
    from seqapps.cli import main

    if model.conditioning != "attention":
        return
    folder = tmp_path / "photos"
    folder.mkdir()
    lines = ["image,caption"]
    for index, (color, shape) in enumerate(ITEMS):
        (folder / f"{index}.png").write_bytes(png(draw(color, shape, size=48)))
        lines += [f"{index}.png,{color} {shape}", f"{index}.png,a {color} {shape}"]  # two each
    (folder / "captions.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = datasets.from_image_folder(folder, folder / "captions.csv", image_size=(32, 32))
    tuned = Task.from_preset(model.save_preset(tmp_path / "base.keras"))
    history = tuned.finetune(pairs, epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert tuned.get_config() == model.get_config()  # the caption vocabulary is kept
    out = tmp_path / "tuned.keras"
    args = ["finetune", str(tmp_path / "base.keras"), "--data", str(folder / "captions.csv")]
    assert main([*args, "--image-dir", str(folder), "--out", str(out), "--epochs", "1"]) == 0
    assert out.is_file() and "wrote" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "x.keras")]) == 2  # no --image-dir
    assert "--image-dir" in capsys.readouterr().err
