"""Every shipped weight file, flipped or truncated anywhere, is refused before any layer is built."""

import dataclasses

import numpy as np
import pytest

import seqapps
from seqapps.tasks import task
from seqapps.zoo import describe, list_models, register, registry

pytestmark = pytest.mark.zoo

FLIPS = 12
TRUNCATIONS = (0, 1, 0.5, -1)  # empty, one byte, half, all but the last byte


def corrupted_copies(data: bytes):
    for offset in np.linspace(0, len(data) - 1, FLIPS).astype(int):
        flipped = bytearray(data)
        flipped[offset] ^= 0xFF
        yield f"byte {offset} flipped", bytes(flipped)
    for cut in TRUNCATIONS:
        length = int(len(data) * cut) if isinstance(cut, float) else cut % len(data)
        yield f"cut to {length} bytes", data[:length]


@pytest.mark.parametrize("name", list_models())
def test_every_corrupted_copy_is_refused_before_loading(name, tmp_path, monkeypatch):
    def never(path):
        raise AssertionError(f"a corrupted copy of {name} reached the Keras loader")

    monkeypatch.setattr(task, "_load_keras_file", never)
    entry = registry.get_entry(name)
    data = (registry.ZOO_DIR / describe(name)["weights"]["file"]).read_bytes()
    refused = 0
    for index, (damage, copy) in enumerate(corrupted_copies(data)):
        path = tmp_path / f"copy-{index}.keras"
        path.write_bytes(copy)
        weights = {**entry.weights, "file": str(path)}
        register(dataclasses.replace(entry, name=f"corrupt-{index}", weights=weights))
        try:
            seqapps.load(f"corrupt-{index}")
        except ValueError as error:
            assert "refusing to load" in str(error), f"{damage}: {error}"
        else:
            pytest.fail(f"{name} with {damage} was loaded")
        finally:
            registry._REGISTRY.pop(f"corrupt-{index}")
        path.unlink()
        refused += 1
    assert refused == FLIPS + len(TRUNCATIONS)
