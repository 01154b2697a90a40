"""Dynamic batching, TensorFlow Serving's idea: concurrent requests become one model call.

Requests with the same key (a signature and its inner shapes, or a verb and
its options) wait together until their rows reach `max_batch_size` or
`batch_timeout_micros` have passed since the first of them arrived; then one
call answers them all, in the model's one worker thread. While that call
runs, the next requests gather, so under load every call is a full batch,
while a request alone waits at most the timeout. A call that raises is
retried request by request, so one bad input fails only its own request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import Executor
from dataclasses import dataclass, field


@dataclass
class _Waiting:
    payload: object
    rows: int
    future: asyncio.Future


@dataclass
class _Queue:
    items: list[_Waiting] = field(default_factory=list)
    rows: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None


class Batcher:
    """Groups concurrent `submit`s of one key into calls of `run(key, payloads)`.

    Args:
        run: `run(key, payloads) -> results`, one result per payload, called in
            `executor`; it may raise (then each payload is retried alone).
        executor: where `run` runs: the model's single worker thread.
        max_batch_size: the most rows of one call (a request alone may have
            up to this many).
        batch_timeout_micros: how long the first request of a batch waits
            for others.

    Example:

    >>> import asyncio, concurrent.futures
    >>> worker = concurrent.futures.ThreadPoolExecutor(1)
    >>> calls = []
    >>> def run(key, payloads):
    ...     calls.append(len(payloads))
    ...     return [p * 2 for p in payloads]
    >>> async def main():
    ...     batcher = Batcher(run, worker, max_batch_size=8, batch_timeout_micros=50_000)
    ...     return await asyncio.gather(*(batcher.submit("k", n, 1) for n in range(3)))
    >>> asyncio.run(main()), calls
    ([0, 2, 4], [3])
    """

    def __init__(
        self,
        run: Callable[[Hashable, list], list],
        executor: Executor,
        *,
        max_batch_size: int,
        batch_timeout_micros: int,
    ):
        self._run = run
        self._executor = executor
        self.max_batch_size = max_batch_size
        self.timeout = batch_timeout_micros / 1e6
        self._queues: dict[Hashable, _Queue] = {}

    async def submit(self, key: Hashable, payload: object, rows: int):
        """The result of `payload` (of `rows` rows), answered in a batch with others of `key`."""
        future = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = _Queue()
            queue.task = asyncio.create_task(self._drain(key, queue))
        queue.items.append(_Waiting(payload, rows, future))
        queue.rows += rows
        queue.arrived.set()
        return await future

    async def close(self) -> None:
        """Stops the batches not yet started; their requests fail."""
        for queue in list(self._queues.values()):
            queue.task.cancel()
            for item in queue.items:
                if not item.future.done():
                    item.future.set_exception(RuntimeError("the server is shutting down"))

    async def _drain(self, key, queue: _Queue) -> None:
        loop = asyncio.get_running_loop()
        try:
            while queue.items:
                deadline = loop.time() + self.timeout
                while queue.rows < self.max_batch_size and loop.time() < deadline:
                    queue.arrived.clear()
                    try:
                        await asyncio.wait_for(queue.arrived.wait(), deadline - loop.time())
                    except asyncio.TimeoutError:
                        break
                batch, rows = [], 0
                while queue.items and (
                    not batch or rows + queue.items[0].rows <= self.max_batch_size
                ):
                    item = queue.items.pop(0)
                    batch.append(item)
                    rows += item.rows
                queue.rows -= rows
                await self._answer(key, batch)
        finally:
            # No await between the last look at `items` and here: a new request finds no queue
            # and starts its own.
            if self._queues.get(key) is queue:
                del self._queues[key]

    async def _answer(self, key, batch: list[_Waiting]) -> None:
        batch = [item for item in batch if not item.future.done()]  # gone: the client left
        if not batch:
            return
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(
                self._executor, self._run, key, [item.payload for item in batch]
            )
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0].future, error=error)
                return
            for item in batch:  # one bad input fails only its own request
                try:
                    (result,) = await loop.run_in_executor(
                        self._executor, self._run, key, [item.payload]
                    )
                except Exception as alone:
                    _settle(item.future, error=alone)
                else:
                    _settle(item.future, result)
            return
        for item, result in zip(batch, results):
            _settle(item.future, result)


def _settle(future: asyncio.Future, result=None, error: BaseException | None = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
