"""`GenerationConfig`: every generating verb's options, checked once."""

import math

import numpy as np
import pytest

from seqapps.generation import MAX_LENGTH, GenerationConfig


def test_numpy_numbers_are_taken_like_python_ones():
    config = GenerationConfig(
        max_length=np.int64(7),
        temperature=np.float32(0.5),
        top_k=np.int32(3),
        top_p=np.float64(0.9),
        seed=np.uint8(2),
        beam_size=1,
        length_penalty=np.float32(1.0),
        no_repeat_ngram_size=np.int64(2),
    )
    assert (config.max_length, config.top_k, config.seed, config.no_repeat_ngram_size) == (
        7,
        3,
        2,
        2,
    )
    assert type(config.max_length) is int and type(config.temperature) is float
    assert config.top_p == pytest.approx(0.9)
    assert GenerationConfig(beam_size=np.int64(3)).beam_size == 3


@pytest.mark.parametrize(
    "options, message",
    [
        ({"temperature": -1}, r"temperature must be >= 0 .*got -1"),
        ({"temperature": math.nan}, "temperature must be >= 0 .*got nan"),
        ({"temperature": True}, "temperature must be >= 0 .*got True"),
        ({"temperature": "0.8"}, "temperature must be >= 0 .*got '0.8'"),
        ({"top_k": -3}, "top_k must be a positive integer or None .*got -3"),
        ({"top_k": 2.0}, "top_k must be a positive integer .*got 2.0"),
        ({"top_p": 0}, r"top_p must lie in \(0, 1\].*got 0"),
        ({"top_p": np.float32("nan")}, "top_p must lie in"),
        ({"seed": -1}, r"seed must be an integer in 0..2\*\*63-1, or None, got -1"),
        ({"seed": 2**63}, "seed must be an integer in"),
        ({"beam_size": 0}, "beam_size must be an integer in 1..64, got 0"),
        ({"beam_size": np.bool_(True)}, "beam_size must be an integer in 1..64, got np.True_"),
        ({"max_length": -1}, f"max_length must lie in 0..{MAX_LENGTH} .*got -1"),
        ({"max_length": MAX_LENGTH + 1}, f"max_length must lie in 0..{MAX_LENGTH}"),
        ({"max_length": 10.0}, "max_length must lie in"),
        ({"length_penalty": math.inf}, "length_penalty must be a finite number, got inf"),
        ({"no_repeat_ngram_size": -2}, "no_repeat_ngram_size must be a positive integer"),
        ({"stop": ["", "."]}, "stop must be a non-empty string or a list of them"),
        ({"stop": 5}, r"stop must be a non-empty string or a list of them, got 5"),
        ({"stop": 0}, r"stop must be a non-empty string or a list of them, got 0"),
        ({"stop": False}, r"stop must be a non-empty string or a list of them, got False"),
        ({"stop": {"\n": 1}}, r"stop must be a non-empty string or a list of them"),
        ({"beam_size": 2, "temperature": 0.7}, "beam search is deterministic"),
        ({"beam_size": 2, "top_k": 5}, "beam search is deterministic"),
    ],
)
def test_bad_options_are_refused_naming_option_value_and_range(options, message):
    with pytest.raises(ValueError, match=message):
        GenerationConfig(**options)


def test_defaults_and_what_keys_the_traced_function():
    config = GenerationConfig()
    assert (config.temperature, config.top_k, config.top_p, config.beam_size) == (0.0, 0, 1.0, 1)
    assert config.max_length is None and config.stop == () and config.greedy
    # Only the static part keys a trace: other temperatures or seeds reuse it.
    sampled = GenerationConfig(temperature=0.8, seed=1)
    assert sampled.static_key == GenerationConfig(temperature=1.3, seed=9).static_key
    assert sampled.static_key != config.static_key
    assert GenerationConfig(beam_size=4).static_key == (4, 0, True)
    # An n-gram longer than any output can never repeat: no rule.
    assert GenerationConfig(no_repeat_ngram_size=10**12).no_repeat_ngram_size == 0
    assert GenerationConfig(stop="\n\n").stop == ("\n\n",)
    assert GenerationConfig(stop=(s for s in [".", "!"])).stop == (".", "!")
    assert GenerationConfig(stop=np.array([".", "!"])).stop == (".", "!")


def test_replace_checks_again_and_names_unknown_options():
    config = GenerationConfig(temperature=0.8)
    assert config.replace(temperature=0).greedy
    with pytest.raises(ValueError, match="top_p must lie in"):
        config.replace(top_p=2)
    with pytest.raises(TypeError, match=r"unknown generation option\(s\) \['beam'\]"):
        config.replace(beam=3)
    with pytest.raises(AttributeError):
        config.temperature = 1.0  # frozen


def test_tensors_draw_a_fresh_seed_only_when_none_is_given():
    fixed = GenerationConfig(seed=5, max_length=3)
    assert [int(t) for t in (fixed.tensors()[0], fixed.tensors()[-1])] == [3, 5]
    assert int(GenerationConfig().tensors()[0]) == -1  # max_length=None: the task's default
    drawn = {int(GenerationConfig().tensors()[-1]) for _ in range(5)}
    assert len(drawn) > 1
