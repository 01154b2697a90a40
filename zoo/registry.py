"""The registry of pretrained entries: one dict of cards, read from `cards/*.json` on first use
(`import seqapps` reads no card)."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
from pathlib import Path
from typing import Any

ZOO_DIR = Path(__file__).resolve().parent
CARDS_DIR = ZOO_DIR / "cards"


@dataclasses.dataclass(frozen=True)
class ZooEntry:
    """One pretrained entry: its card, as plain data.

    `weights` holds `file` (relative to the zoo folder) and/or `url`, plus the
    `sha256` and `size_bytes` every copy must match. `metrics` holds the
    held-out numbers the recipe measured (`test`, and `validation` used for
    selection).
    """

    name: str
    task: str
    description: str
    architecture: dict[str, Any]
    weights: dict[str, Any]
    num_parameters: int
    dataset: dict[str, Any]
    metrics: dict[str, Any]
    license: str
    recipe: str
    notes: str = ""
    #: What the entry is for, its training data, limitations and known failures
    #: (see `seqapps.zoo.model_card`); every committed card has one.
    usage: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_card(cls, card: dict[str, Any], source: str = "card") -> ZooEntry:
        fields = {field.name for field in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING}
        missing = sorted(required - set(card))
        unknown = sorted(set(card) - fields)
        if missing or unknown:
            raise ValueError(f"{source}: missing fields {missing}, unknown fields {unknown}")
        return cls(**card)

    def headline_metric(self) -> tuple[str, float] | None:
        """The first test metric, pooled where it has parts: e.g. `("accuracy", 0.76)`,
        `("bleu (greedy)", 17.1)`."""
        for metric, value in self.metrics.get("test", {}).items():
            if isinstance(value, dict) and "pooled" in value:
                return metric, value["pooled"]
            if isinstance(value, dict):  # e.g. {"greedy": {"bleu": 17.1, ...}}
                for part, number in value.items():
                    if isinstance(number, (int, float)):
                        return f"{part} ({metric})", number
            if isinstance(value, (int, float)):
                return metric, value
        return None

    def to_card(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_REGISTRY: dict[str, ZooEntry] = {}
_CARDS_READ = False


def _entries() -> dict[str, ZooEntry]:
    """The registry, the committed cards read into it on first use."""
    global _CARDS_READ
    if not _CARDS_READ:
        for entry in read_cards():  # all or nothing: a bad card leaves the registry unread
            if entry.name in _REGISTRY:
                raise ValueError(f"a zoo entry named {entry.name!r} is already registered")
            _REGISTRY[entry.name] = entry
        _CARDS_READ = True
    return _REGISTRY


def register(entry: ZooEntry) -> ZooEntry:
    """Adds an entry; a name that is already taken (by a card or an earlier entry) is refused."""
    if entry.name in _entries():
        raise ValueError(f"a zoo entry named {entry.name!r} is already registered")
    _REGISTRY[entry.name] = entry
    return entry


def get_entry(name: str) -> ZooEntry:
    """The entry called `name`; an unknown name is answered with the closest ones."""
    try:
        return _entries()[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _REGISTRY, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ValueError(f"unknown model {name!r}; {hint}see seqapps.list_models()") from None


def list_models(pattern: str | None = None, task: str | None = None) -> list[str]:
    """Sorted entry names, filtered by an fnmatch `pattern` (`"*lstm*"`) and/or `task`."""
    names = sorted(_entries())
    if pattern is not None:
        names = fnmatch.filter(names, pattern)
    if task is not None:
        names = [name for name in names if _REGISTRY[name].task == task]
    return names


def describe(name: str) -> dict[str, Any]:
    """The card of an entry: a plain dict, which `print` shows as readable text."""
    from seqapps.zoo.model_card import ModelCard

    return ModelCard(get_entry(name).to_card())


def sha256_of(path: str | os.PathLike) -> str:
    import hashlib  # 2 ms: only when a file is checked

    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_file(path: Path, entry: ZooEntry) -> None:
    """Refuses a weight file whose size or sha256 differs from the card."""
    expected_size = entry.weights["size_bytes"]
    size = path.stat().st_size
    if size != expected_size:
        raise ValueError(
            f"refusing to load {entry.name!r}: {path} is {size} bytes, the card says "
            f"{expected_size}; the file is truncated or replaced — reinstall seqapps or "
            f"delete the file so it is fetched again"
        )
    digest = sha256_of(path)
    if digest != entry.weights["sha256"]:
        raise ValueError(
            f"refusing to load {entry.name!r}: sha256 of {path} is {digest}, the card "
            f"says {entry.weights['sha256']}; the file is corrupted or tampered with — "
            f"reinstall seqapps or delete the file so it is fetched again"
        )


def weights_path(entry: ZooEntry) -> Path:
    """A verified local copy of the entry's weights, downloaded into the cache if needed."""
    local = entry.weights.get("file")
    if local:
        path = ZOO_DIR / local
        if path.exists():
            verify_file(path, entry)
            return path
    url = entry.weights.get("url")
    if not url:
        raise FileNotFoundError(
            f"the weights of {entry.name!r} are missing ({ZOO_DIR / local}) and the card "
            f"names no URL; reinstall seqapps"
        )
    cache = Path(
        os.environ.get("SEQAPPS_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "seqapps"))
    )
    path = cache / "weights" / f"{entry.name}-{entry.weights['sha256'][:12]}.keras"
    if not path.exists():
        _download(url, path, entry)
    verify_file(path, entry)
    return path


class WeightsDownloadError(OSError):
    """A weight file could not be fetched: unreachable, too slow, or not the file the card names."""


#: Seconds a whole download may take before it is abandoned, on top of 20 s per MB of the
#: card's size (a 6 MB entry gets 180 s); `SEQAPPS_DOWNLOAD_TIMEOUT` sets the whole limit.
DOWNLOAD_TIMEOUT = 60.0


def download_deadline(size_bytes: int) -> float:
    """Seconds the whole download of `size_bytes` may take (see `DOWNLOAD_TIMEOUT`)."""
    configured = os.environ.get("SEQAPPS_DOWNLOAD_TIMEOUT")
    if configured is not None:
        return float(configured)
    return DOWNLOAD_TIMEOUT + 20.0 * size_bytes / 1e6


def _download(url: str, path: Path, entry: ZooEntry) -> None:
    """Fetches `url` to `path`, atomically, within a deadline and the card's size.

    The deadline covers the whole download, not each read: a server that
    drips one byte a second is abandoned as surely as one that stalls. More
    bytes than the card's `size_bytes` are refused as soon as they arrive, and
    the sha256 is checked before the file lands. The staging file is removed
    whatever happens (one left by a killed process is removed by the next
    download of the same entry).
    """
    import hashlib
    import time
    import urllib.error
    import urllib.request
    import uuid

    size, timeout = entry.weights["size_bytes"], download_deadline(entry.weights["size_bytes"])
    deadline = time.monotonic() + timeout
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob(f"{path.name}.*.partial"):
            if not _process_alive(stale.suffixes[-2][1:].split("-")[0]):
                stale.unlink(missing_ok=True)
        staging = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
        file = open(staging, "wb")
    except OSError as error:
        raise WeightsDownloadError(
            f"cannot write the weights of {entry.name!r} into the cache folder {path.parent} "
            f"({error.strerror or error}); point SEQAPPS_CACHE at a writable folder"
        ) from None

    def refuse(why: str) -> WeightsDownloadError:
        return WeightsDownloadError(
            f"could not download the weights of {entry.name!r} from {url}: {why}; nothing was "
            f"kept. Check the connection and the card's URL, or copy the file to {path}"
        )

    digest, received = hashlib.sha256(), 0
    try:
        with file, urllib.request.urlopen(url, timeout=timeout) as response:
            announced = response.headers.get("Content-Length") if response.headers else None
            if announced and announced.isdigit() and int(announced) > size:
                raise refuse(f"the server announces {announced} bytes, the card says {size}")
            sock = _socket_of(response)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if sock is not None:
                    sock.settimeout(remaining)  # a stall cannot outlast the deadline either
                block = response.read1(1 << 16)
                if not block:
                    break
                received += len(block)
                if received > size:
                    raise refuse(f"the server sent more than the card's {size} bytes")
                digest.update(block)
                file.write(block)
        if digest.hexdigest() != entry.weights["sha256"]:
            raise WeightsDownloadError(
                f"the file at {url} is not the weights of {entry.name!r}: its sha256 is "
                f"{digest.hexdigest()}, the card says {entry.weights['sha256']}; nothing was kept"
            )
        os.replace(staging, path)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        if isinstance(error, TimeoutError) or isinstance(reason, TimeoutError):
            reason = f"not complete after {timeout:g} s ({received} of {size} bytes)"
        raise refuse(
            f"{reason} (timeout {timeout:g} s for the whole download, SEQAPPS_DOWNLOAD_TIMEOUT)"
        ) from None
    finally:
        staging.unlink(missing_ok=True)


def _socket_of(response: Any) -> Any:
    """The socket under an HTTP(S) response (None for a `file:` URL), to bound each read."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    return getattr(raw, "_sock", None)


def _process_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # alive, owned by another user
        return True
    return True


def preset_file(name: str | os.PathLike) -> Path | None:
    """The `.keras` file `name` points at: itself, or `model.keras` in a folder (what
    `seqapps finetune --out FOLDER` writes); None for an entry name, which wins over a folder
    of the same name."""
    path = Path(name)
    if path.suffix == ".keras":
        return path
    if os.fspath(name) in _entries() or not (path / "model.keras").is_file():
        return None
    return path / "model.keras"


def resolve_weights(preset: str | os.PathLike) -> tuple[Path, str | None]:
    """`(verified path, task)` for an entry name, or `(path, None)` for a `.keras` file."""
    path = preset_file(preset)
    if path is not None:
        if not path.exists():
            raise FileNotFoundError(f"no preset file at {path}")
        return path, None
    entry = get_entry(str(preset))
    return weights_path(entry), entry.task


def read_cards(directory: Path = CARDS_DIR) -> list[ZooEntry]:
    """The entries of the cards in `directory`, in file-name order."""
    return [
        ZooEntry.from_card(json.loads(path.read_text(encoding="utf-8")), source=str(path))
        for path in sorted(directory.glob("*.json"))
    ]
