"""Retakes `docs/serve-page.png`: `seqapps serve` with five zoo entries, each form answered.

    python docs/serve_page.py [OUT.png]

Needs the `serve` extra, Playwright (`pip install playwright`) and a chromium at
`$SEQAPPS_CHROMIUM` (default /usr/bin/chromium); the entries are downloaded if not cached.
"""

import gzip
import io
import os
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

from seqapps.serve import create_app, server

EMOJI = Path(__file__).parent.parent / "datasets" / "emoji_captions"
DOG_FACE = 630  # a test-split image of the bundled emoji captions
ENTRIES = [
    "sentiment-lstm",
    "pos-brown-lstm",
    "translate-en-es-gru",
    "caption-emoji-gru",
    "textgen-shakespeare-lstm",
]


def emoji_png(index: int) -> bytes:
    pixels = np.frombuffer(gzip.open(EMOJI / "images.uint8.gz").read(), np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels.reshape(-1, 64, 64, 3)[index]).save(buffer, "PNG")
    return buffer.getvalue()


def main(out: str = "docs/serve-page.png") -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    running = server(create_app(ENTRIES), port=port, log_level="warning")
    threading.Thread(target=running.run, daemon=True).start()
    while not running.started:
        time.sleep(0.1)
    chromium = os.environ.get("SEQAPPS_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        page.set_default_timeout(300_000)
        page.goto(f"http://127.0.0.1:{port}")
        page.wait_for_selector("#form-sentiment-lstm")

        def answer(name: str) -> None:
            page.click(f"#form-{name} button")
            page.wait_for_selector(f"#answer-{name}[data-done]")

        page.fill("#form-sentiment-lstm textarea", "a gorgeous, witty, seductive movie.")
        page.check("#sentiment-lstm-all_scores")
        answer("sentiment-lstm")
        page.fill("#form-pos-brown-lstm textarea", "The old man the boats .")
        answer("pos-brown-lstm")
        source = "In the beginning God created the heavens and the earth."
        page.fill("#form-translate-en-es-gru textarea", source)
        answer("translate-en-es-gru")
        image = {"name": "dog.png", "mimeType": "image/png", "buffer": emoji_png(DOG_FACE)}
        page.set_input_files("#form-caption-emoji-gru input[type=file]", files=[image])
        answer("caption-emoji-gru")
        writing = {"prompt": "ROMEO:", "max_length": "200", "temperature": "0.8", "seed": "1"}
        for option, value in writing.items():
            page.fill(f"#textgen-shakespeare-lstm-{option}", value)
        answer("textgen-shakespeare-lstm")
        time.sleep(1)  # the captioner's image grids are drawn once the image has loaded
        page.screenshot(path=out, full_page=True)
        browser.close()
    running.should_exit = True


if __name__ == "__main__":
    main(*sys.argv[1:])
