"""Dynamic batching: concurrent requests share a model call, each gets its own answer, a full
batch goes at once, a lone request waits at most the timeout, and one bad input fails alone."""

import asyncio
import concurrent.futures
import time
import warnings

import pytest

from seqapps.serve.batching import Batcher


def doubling(calls, bad=()):
    def run(key, payloads):
        calls.append(list(payloads))
        if any(p in bad for p in payloads):
            raise ValueError(f"cannot answer {[p for p in payloads if p in bad]}")
        return [p * 2 for p in payloads]

    return run


@pytest.fixture
def worker():
    with concurrent.futures.ThreadPoolExecutor(1) as executor:
        yield executor


def test_concurrent_requests_share_one_call_and_get_their_own_answers(worker):
    calls = []

    async def main():
        batcher = Batcher(doubling(calls), worker, max_batch_size=64, batch_timeout_micros=200_000)
        return await asyncio.gather(*(batcher.submit("k", n, 1) for n in range(10)))

    assert asyncio.run(main()) == [2 * n for n in range(10)]
    assert calls == [list(range(10))]


def test_a_call_holds_at_most_max_batch_size_rows_and_keys_never_mix(worker):
    calls = []

    async def main():
        batcher = Batcher(doubling(calls), worker, max_batch_size=4, batch_timeout_micros=100_000)
        requests = [
            batcher.submit("even" if n % 2 == 0 else "odd", n, 3 if n == 0 else 1) for n in range(9)
        ]
        return await asyncio.gather(*requests)

    assert asyncio.run(main()) == [2 * n for n in range(9)]
    assert sorted(map(sorted, calls)) == [[0, 2], [1, 3, 5, 7], [4, 6, 8]]


def test_a_full_batch_goes_at_once_and_a_lone_request_waits_at_most_the_timeout(worker):
    calls = []

    async def timed(batcher, rows):
        start = time.perf_counter()
        await batcher.submit("k", 1, rows)
        return time.perf_counter() - start

    async def main():
        patient = Batcher(
            doubling(calls), worker, max_batch_size=4, batch_timeout_micros=60_000_000
        )
        full = await asyncio.wait_for(
            timed(patient, 4), 5
        )  # a minute's timeout never comes into it
        quick = Batcher(doubling(calls), worker, max_batch_size=64, batch_timeout_micros=300_000)
        alone = await timed(quick, 1)
        return full, alone

    full, alone = asyncio.run(main())
    assert full < 5
    assert 0.3 <= alone < 5


def test_a_call_that_raises_is_retried_one_request_at_a_time(worker):
    calls = []

    async def main():
        batcher = Batcher(
            doubling(calls, bad={3}), worker, max_batch_size=64, batch_timeout_micros=100_000
        )
        return await asyncio.gather(
            *(batcher.submit("k", n, 1) for n in range(5)), return_exceptions=True
        )

    answers = asyncio.run(main())
    assert answers[:3] + answers[4:] == [0, 2, 4, 8]
    assert isinstance(answers[3], ValueError) and "[3]" in str(answers[3])
    assert calls[0] == [0, 1, 2, 3, 4] and calls[1:] == [[0], [1], [2], [3], [4]]


def test_a_request_whose_client_left_is_not_computed(worker):
    calls = []

    async def main():
        batcher = Batcher(doubling(calls), worker, max_batch_size=64, batch_timeout_micros=200_000)
        gone = asyncio.ensure_future(batcher.submit("k", 1, 1))
        kept = asyncio.ensure_future(batcher.submit("k", 2, 1))
        await asyncio.sleep(0.05)
        gone.cancel()
        return await kept

    assert asyncio.run(main()) == 4
    assert calls == [[2]]


def test_concurrent_http_requests_are_batched_and_unpadded(monkeypatch):
    pytest.importorskip("fastapi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    import serve_models

    from seqapps.serve import Limits, create_app

    app = create_app({"tag": serve_models.tagger()}, limits=Limits(), batch_timeout_micros=200_000)
    servable = app.state.servables["tag"]
    sizes = []
    predict = servable.predict
    monkeypatch.setattr(servable, "predict", lambda s, p: sizes.append(len(p)) or predict(s, p))
    texts = ["the dog", "dog", "a good movie today", "", "saw the bad dog saw a dog"]
    with TestClient(app) as client:

        def ask(text):
            return client.post("/v1/models/tag:predict", json={"instances": [text]}).json()

        alone = [ask(text) for text in texts]
        sizes.clear()
        with concurrent.futures.ThreadPoolExecutor(len(texts)) as pool:
            together = list(pool.map(ask, texts))
    assert together == alone  # each request's tokens are padded to its own longest row only
    assert sum(sizes) == len(texts) and len(sizes) < len(texts)
