"""Downloads against a hostile local server: a whole-download deadline, the card's size as a cap,
the card's sha256, and no staging file left behind whatever the server does."""

import hashlib
import http.server
import threading
import time

import pytest

from seqapps.zoo import WeightsDownloadError, registry
from seqapps.zoo.registry import ZooEntry

PAYLOAD = bytes(range(256)) * 64  # 16 KiB standing in for a weight file


class Hostile(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        behaviour = self.path.strip("/")
        body = {"too-much": PAYLOAD * 50, "wrong": PAYLOAD[::-1]}.get(behaviour, PAYLOAD)
        self.send_response(200)
        if behaviour in ("good", "wrong", "announces-too-much"):
            length = len(body) * (50 if behaviour == "announces-too-much" else 1)
            self.send_header("Content-Length", str(length))
        self.end_headers()
        try:
            if behaviour == "drip":  # a byte every 0.1 s: every read succeeds, the whole never ends
                for byte in body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            elif behaviour == "stall":  # half the file, then silence
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(30)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry_for(url):
    return ZooEntry(
        name="hostile-test",
        task="text-classification",
        description="",
        architecture={},
        weights={
            "url": url,
            "sha256": hashlib.sha256(PAYLOAD).hexdigest(),
            "size_bytes": len(PAYLOAD),
        },
        num_parameters=0,
        dataset={},
        metrics={},
        license="",
        recipe="",
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQAPPS_CACHE", str(tmp_path))
    monkeypatch.setenv("SEQAPPS_DOWNLOAD_TIMEOUT", "2")
    return tmp_path / "weights"


def test_a_good_server_gives_the_verified_file(server, cache):
    path = registry.weights_path(entry_for(f"{server}/good"))
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in cache.iterdir()] == [path.name]


@pytest.mark.parametrize("behaviour", ["drip", "stall"])
def test_a_slow_server_is_abandoned_at_the_deadline_for_the_whole_download(
    server, cache, behaviour
):
    start = time.monotonic()
    with pytest.raises(WeightsDownloadError, match=r"not complete after 2 s \(\d+ of 16384 bytes"):
        registry.weights_path(entry_for(f"{server}/{behaviour}"))
    assert time.monotonic() - start < 4  # the drip would take 27 minutes, the stall 30 s
    assert not list(cache.iterdir())  # no .partial file stays behind


@pytest.mark.parametrize("behaviour", ["too-much", "announces-too-much"])
def test_more_bytes_than_the_card_says_are_refused_as_they_come(server, cache, behaviour):
    with pytest.raises(WeightsDownloadError, match="more than the card's 16384 bytes|announces"):
        registry.weights_path(entry_for(f"{server}/{behaviour}"))
    assert not list(cache.iterdir())


def test_the_wrong_bytes_are_refused_by_their_hash(server, cache):
    with pytest.raises(WeightsDownloadError, match="its sha256 is .* nothing was kept"):
        registry.weights_path(entry_for(f"{server}/wrong"))
    assert not list(cache.iterdir())


def test_a_staging_file_left_by_a_killed_download_is_removed_by_the_next(server, cache):
    cache.mkdir()
    name = f"hostile-test-{hashlib.sha256(PAYLOAD).hexdigest()[:12]}.keras"
    (cache / f"{name}.999999999-deadbeef.partial").write_bytes(b"half")  # no such process
    registry.weights_path(entry_for(f"{server}/good"))
    assert [p.name for p in cache.iterdir()] == [name]
