"""The page at `/` in a real browser (Playwright driving Debian's chromium, headless): every
model's form is filled in and its answer read from the DOM (`-m slow`)."""

import os
import socket
import threading
import time

import numpy as np
import pytest
import serve_models

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("SEQAPPS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def models():
    return {
        "clf": serve_models.classifier(),
        "tag": serve_models.tagger(),
        "gen": serve_models.generator(),
        "cap": serve_models.captioner(),
        "tr": serve_models.translator(),
    }


@pytest.fixture(scope="module")
def url(models):
    uvicorn = pytest.importorskip("uvicorn")
    from seqapps.serve import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(models), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, daemon=True
    )  # no signal handlers off the main thread
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def page(url):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_selector("#form-clf")
        yield page
        browser.close()


def answered(page, name):
    page.click(f"#form-{name} button")
    page.wait_for_selector(f"#answer-{name}[data-done]")
    answer = page.locator(f"#answer-{name}")
    assert not answer.locator(".error").count(), answer.inner_text()
    return answer


def test_every_loaded_model_has_a_form_for_its_verb(page):
    buttons = {
        name: page.inner_text(f"#form-{name} button") for name in ("clf", "tag", "gen", "cap", "tr")
    }
    verbs = {
        "clf": "classify",
        "tag": "tag",
        "gen": "generate",
        "cap": "caption",
        "tr": "translate",
    }
    assert buttons == verbs


def test_classify_shows_the_label_and_every_score(page, models):
    page.fill("#form-clf textarea", "a good movie\nbad")
    page.check("#clf-all_scores")
    answer = answered(page, "clf")
    expected = models["clf"].classify(["a good movie", "bad"])
    assert answer.locator(".label").all_inner_texts() == [e["label"] for e in expected]
    assert answer.locator(".bar").count() == 4  # two labels' bars per text


def test_tag_colours_each_token_with_its_tag(page, models):
    page.fill("#form-tag textarea", "the dog saw a movie")
    answer = answered(page, "tag")
    chips = answer.locator(".token .tag").all_inner_texts()
    assert chips == [tag for _, tag in models["tag"].tag("the dog saw a movie")]
    colours = answer.locator(".token").evaluate_all("chips => chips.map(c => c.style.background)")
    assert len(set(colours)) == len(set(chips))


def test_generate_streams_the_text_into_the_page(page, models):
    page.fill("#gen-prompt", "ab")
    page.fill("#gen-max_length", "12")
    answer = answered(page, "gen")
    assert answer.locator("pre.text").inner_text() == models["gen"].generate("ab", max_length=12)


def test_caption_takes_an_uploaded_image(page, models):
    image = serve_models.png((30, 200, 30))
    page.set_input_files(
        "#form-cap input[type=file]",
        files=[{"name": "green.png", "mimeType": "image/png", "buffer": image}],
    )
    page.fill("#cap-max_length", "5")
    answer = answered(page, "cap")
    assert answer.locator("pre.caption").inner_text() == models["cap"].caption(image, max_length=5)


def test_translate_shows_each_translation(page, models):
    page.fill("#form-tr textarea", "the dog\na good movie")
    page.fill("#tr-max_length", "4")
    answer = answered(page, "tr")
    expected = models["tr"].translate(["the dog", "a good movie"], max_length=4)
    assert answer.locator("pre.translation").all_inner_texts() == expected


def test_a_refused_request_shows_the_servers_error(page):
    page.fill("#gen-max_length", "100000")
    page.click("#form-gen button")
    page.wait_for_selector("#answer-gen[data-done]")
    assert "limit of 512" in page.inner_text("#answer-gen .error")


# -- the pictures: attention over the source or the image, probabilities of a written text ---


def test_translate_draws_a_row_of_attention_per_written_piece_over_the_source(page, models):
    page.fill("#form-tr textarea", "the dog\na good movie")
    page.fill("#tr-max_length", "4")
    assert page.is_checked("#tr-return_attention")  # the page asks for what it draws
    answer = answered(page, "tr")
    tables = answer.locator("table.attention")
    expected = models["tr"].translate(
        ["the dog", "a good movie"], max_length=4, return_attention=True
    )
    assert tables.count() == 2
    for index, (_, attention) in enumerate(expected):
        table = tables.nth(index)
        assert table.locator("th.source").all_inner_texts() == attention["source"]
        assert [t.strip() for t in table.locator("th.written").all_inner_texts()] == [
            p.strip() for p in attention["target"]
        ]
        assert table.locator("tbody td").count() == attention["weights"].size
        cells = table.locator("tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => "
            "[parseFloat(td.title.split(': ').pop()), td.style.background]))"
        )
        shown = np.array([[weight for weight, _ in row] for row in cells])
        np.testing.assert_allclose(shown, attention["weights"], atol=1.5e-3)
        # Shaded as the library's heatmap scales its colours: up to the table's largest weight.
        alphas = np.array([[alpha(shade) for _, shade in row] for row in cells])
        np.testing.assert_allclose(alphas, shown / shown.max(), atol=1e-2)
    # The untrained model looks everywhere alike: the shading, on weights that differ.
    drawn = page.evaluate(
        "() => [...attentionTable(['x', 'y'], ['a', 'b'], [[0.9, 0.1], [0.5, 0.5]])"
        ".querySelectorAll('tbody td')].map(td => td.style.background)"
    )
    np.testing.assert_allclose([alpha(c) for c in drawn], [1, 0.111, 0.556, 0.556], atol=5e-3)
    page.uncheck("#tr-return_attention")
    assert not answered(page, "tr").locator("table.attention").count()
    page.check("#tr-return_attention")


def alpha(colour: str) -> float:
    """The opacity of a CSS colour as the browser writes it (`rgba(r, g, b, a)`, `rgb(r, g, b)`);
    it keeps 8 bits of it."""
    return float(colour.split(",")[3].rstrip(")")) if colour.startswith("rgba") else 1.0


def test_caption_draws_where_each_piece_looked_on_the_image(page, models):
    image = serve_models.png((200, 200, 30))
    page.set_input_files(
        "#form-cap input[type=file]",
        files=[{"name": "yellow.png", "mimeType": "image/png", "buffer": image}],
    )
    page.fill("#cap-max_length", "3")
    answer = answered(page, "cap")
    _, attention = models["cap"].caption(image, max_length=3, return_attention=True)
    figures = answer.locator("figure.attention-grid")
    assert figures.locator("figcaption").all_inner_texts() == [
        p.strip() for p in attention["pieces"]
    ]
    height, width = attention["weights"].shape[1:]
    assert set(figures.evaluate_all("fs => fs.map(f => f.dataset.cells)")) == {f"{height}x{width}"}
    page.wait_for_function(  # the image is drawn under the grid once it has loaded
        "() => [...document.querySelectorAll('#answer-cap canvas')].every(c => "
        "c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v > 0))"
    )


def test_generate_shades_each_streamed_character_by_its_probability(page, models):
    page.fill("#gen-prompt", "ab")
    page.fill("#gen-max_length", "10")
    page.fill("#gen-temperature", "1")
    page.fill("#gen-seed", "4")
    assert page.is_checked("#gen-probabilities")
    answer = answered(page, "gen")
    options = {"max_length": 10, "temperature": 1.0, "seed": 4}
    expected = list(models["gen"].stream("ab", probabilities=True, **options))
    pieces = answer.locator("pre.text span.piece")
    assert pieces.all_text_contents() == [p["piece"] for p in expected]
    shown = pieces.evaluate_all("ps => ps.map(p => parseFloat(p.dataset.probability))")
    assert shown == [p["probability"] for p in expected]
    titles = pieces.evaluate_all("ps => ps.map(p => p.title)")
    assert titles == [f"p = {p['probability']:.3f}" for p in expected]
    shades = pieces.evaluate_all("ps => ps.map(p => p.style.background)")
    unlikely = [0.6 * (1 - p["probability"]) for p in expected]  # the less likely, the redder
    np.testing.assert_allclose([alpha(c) for c in shades], unlikely, atol=5e-3)  # 8-bit alpha
    page.fill("#gen-temperature", "")
    page.fill("#gen-seed", "")
