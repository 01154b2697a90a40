"""The page at `/` in a real browser (Playwright driving Debian's chromium, headless): every
model's form is filled in and its answer read from the DOM (`-m slow`)."""

import os
import socket
import threading
import time

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
