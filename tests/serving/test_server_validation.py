"""The request validator (`lamina.serving.schema.validate_inputs`) under generated input:
whatever JSON value arrives as ``inputs``, it either returns arrays of the model's
shapes and dtypes, equal to the values sent, or raises a `ClientError` (4xx) naming a
field under ``inputs`` — never another exception."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lamina.serving.schema import ClientError, InputSpec, validate_inputs

SPECS = [InputSpec("a", (3,), "float32"), InputSpec("b", (2, 2), "int64")]
ONE = [InputSpec("x", (None, 2), "float32")]
STRINGS = [InputSpec("text", (1,), "string")]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=True),
                    st.text(max_size=5))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["a", "b", "c", "x"]), inner, max_size=3)),
    max_leaves=30)
numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))


def check(value, specs):
    try:
        arrays, n = validate_inputs(value, specs)
    except ClientError as e:
        assert 400 <= e.status < 500
        assert e.field.startswith("inputs") and e.expected and e.received and e.message
        return None
    for spec in specs:
        arr = arrays[spec.name]
        assert len(arr) == n >= 1
        assert all(d is None or d == s for d, s in zip(spec.shape, arr.shape[1:]))
        if spec.dtype != "string":
            assert np.isfinite(arr.astype(np.float64)).all()
    return arrays


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_validator_never_fails_other_than_clienterror(value):
    for specs in (SPECS, ONE, STRINGS):
        check(value, specs)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(numbers, min_size=3, max_size=3), min_size=1, max_size=5),
       st.lists(st.lists(st.lists(st.integers(-50, 50), min_size=2, max_size=2), min_size=2, max_size=2),
                min_size=1, max_size=5))
def test_validator_accepts_valid_rows_and_keeps_their_values(a, b):
    n = min(len(a), len(b))
    arrays = check({"a": a[:n], "b": b[:n]}, SPECS)
    assert arrays is not None
    np.testing.assert_allclose(arrays["a"], np.asarray(a[:n], dtype=np.float32))
    assert arrays["a"].dtype == np.float32 and arrays["b"].dtype == np.int64
    np.testing.assert_array_equal(arrays["b"], b[:n])


def test_validator_names_the_first_bad_value():
    bad = [[1.0, 2.0], [3.0, math.inf]]
    try:
        validate_inputs([bad], ONE)
    except ClientError as e:
        assert (e.field, e.expected) == ("inputs[0][1][1]", "a finite number")
    else:
        raise AssertionError("inf was accepted")
