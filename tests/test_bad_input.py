"""Bad input ends in a typed error from ``registry.errors``, never a raw Arrow, DuckDB or polars one,
and a huge value never floods a message, a warning or a repr."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import registry as ln
from registry.errors import (
    MAX_SHOWN,
    DoesNotExist,
    InvalidArgument,
    RegistryError,
    ValidationError,
    shorten,
    text_error,
)

BIG = "a" * 10_000_000
# any code point, lone surrogates (category Cs) included
ANY_TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=30)


@pytest.fixture
def labels(instance):
    ln.save([ln.ULabel(name=f"label {i}", description="d") for i in range(30)])
    return instance


# -- ids out of range ------------------------------------------------------------------------


@pytest.mark.parametrize("idlike", [2**70, -(2**70), 2**63])
def test_get_of_an_id_beyond_int64_does_not_exist(labels, idlike):
    with pytest.raises(DoesNotExist, match="does not exist"):
        ln.ULabel.get(idlike)
    with pytest.raises(DoesNotExist):
        ln.ULabel.get(id=idlike)
    assert ln.ULabel.filter(id=idlike).count() == 0


# -- lone surrogates -------------------------------------------------------------------------


def test_saving_a_lone_surrogate_is_a_validation_error(labels):
    with pytest.raises(ValidationError, match=r"ULabel.name: .*lone surrogate.*nothing was saved"):
        ln.ULabel(name="x\ud800y").save()
    with pytest.raises(ValidationError, match="ULabel.description"):
        ln.save([ln.ULabel(name="fine"), ln.ULabel(name="also fine", description="\udfff")])
    assert ln.ULabel.filter().count() == 30


@pytest.mark.parametrize(
    "call",
    [
        lambda: ln.ULabel.get(name="\ud800"),
        lambda: ln.ULabel.get("\ud800"),
        lambda: ln.ULabel.filter(name="\ud800").count(),
        lambda: ln.ULabel.filter(name__icontains="a\udfff").count(),
        lambda: ln.ULabel.filter(name__in=["label 1", "\ud800"]).count(),
        lambda: ln.ULabel.filter(name__in=[f"v{i}" for i in range(5000)] + ["\ud800"]).count(),
        lambda: ln.ULabel.search("\ud800"),
        lambda: ln.ULabel.search(["label 1", "\ud800"]),
        lambda: ln.ULabel.validate(["label 1", "\ud800"]),
        lambda: ln.ULabel.validate("\ud800"),
        lambda: ln.ULabel.inspect(["\ud800"]),
        lambda: ln.ULabel.standardize(["\ud800"]),
    ],
)
def test_lone_surrogates_in_queries_are_validation_errors(labels, call):
    with pytest.raises(ValidationError, match="not valid Unicode"):
        call()


def test_text_error_finds_the_position():
    err = text_error("abc\udc80", "X.name")
    assert isinstance(err, ValidationError) and "position 3" in str(err)
    assert text_error("héllo wörld", "X.name") is None
    assert text_error("plain", "X.name") is None


# -- ln.save of what is not records ----------------------------------------------------------


@pytest.mark.parametrize("bad", [None, 5, "label", b"x", {"name": "x"}, 3.5])
def test_save_of_what_is_not_records_is_invalid_argument(instance, bad):
    with pytest.raises(InvalidArgument, match=r"ln.save\(\) takes a record or a list of records"):
        ln.save(bad)


def test_save_of_a_list_holding_none_is_invalid_argument(instance):
    with pytest.raises(InvalidArgument, match="takes records"):
        ln.save([ln.ULabel(name="x"), None])
    assert ln.ULabel.filter(name="x").count() == 0


# -- huge strings ----------------------------------------------------------------------------


def test_a_10_mb_search_string_is_refused_with_a_short_message(labels):
    with pytest.raises(ValidationError, match="too long") as info:
        ln.ULabel.search(BIG)
    assert len(str(info.value)) < 500
    with pytest.raises(ValidationError, match="too long"):
        ln.ULabel.search(["label 1", BIG])
    assert ln.ULabel.search("label 1").df()["name"].iloc[0] == "label 1"  # normal queries still work


def test_a_10_mb_value_is_shortened_in_reprs_and_messages(labels):
    record = ln.ULabel(name="big", description=BIG)
    assert len(repr(record)) < 2 * MAX_SHOWN + 200
    with pytest.raises(DoesNotExist) as info:
        ln.ULabel.get(description=BIG)
    assert len(str(info.value)) < 1000
    with pytest.raises(ValidationError) as info:
        ln.ULabel(name="x", description=[BIG] * 3)  # wrong type: the message shows the value, shortened
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize(
    "call",
    [
        lambda: ln.ULabel.filter(name__in=BIG).count(),  # a string where a list belongs
        lambda: ln.ULabel.filter(name__regex="(" + BIG).count(),  # an invalid pattern
        lambda: ln.Run.filter(transform=BIG).count(),  # a string where a record belongs
    ],
)
def test_a_10_mb_value_is_shortened_in_query_errors(labels, call):
    with pytest.raises(RegistryError) as info:
        call()
    assert len(str(info.value)) < 2000


def test_a_10_mb_value_is_shortened_in_a_q_repr():
    assert len(repr(ln.Q(name=BIG))) < 1000


def test_a_10_mb_value_is_shortened_in_warnings(labels, caplog):
    with caplog.at_level(logging.WARNING):
        ln.ULabel.standardize(["label 1", BIG[:5_000_000]])
        ln.ULabel.validate([BIG[:3_000_000]])
    text = caplog.text
    assert "characters)" in text
    assert len(text) < 5000


def test_shorten_keeps_short_values_and_cuts_long_ones():
    assert shorten("ab") == "'ab'"
    assert shorten(5) == "5"
    cut = shorten("x" * 1000, 50)
    assert len(cut) < 100 and cut.endswith("(1000 characters)")
    assert len(shorten(list(range(10_000)))) <= MAX_SHOWN


# -- open inputs (hypothesis) ----------------------------------------------------------------

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(text=ANY_TEXT)
def test_any_text_in_filter_and_get_raises_only_registry_errors(labels, text):
    for call in (
        lambda: ln.ULabel.filter(name=text).count(),
        lambda: ln.ULabel.filter(name__icontains=text).count(),
        lambda: ln.ULabel.filter(name__startswith=text).count(),
        lambda: ln.ULabel.filter(name__in=[text, "label 1"]).count(),
        lambda: ln.ULabel.get(name=text),
        lambda: ln.ULabel.get(text),
    ):
        try:
            call()
        except RegistryError:
            pass


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=ANY_TEXT)
def test_any_text_in_search_raises_only_registry_errors(labels, text):
    try:
        ln.ULabel.search(text).df()
    except RegistryError:
        pass
    try:
        ln.ULabel.search([text, "label 2"])
    except RegistryError:
        pass


@FAST
@given(value=st.integers(min_value=-(2**80), max_value=2**80))
def test_any_int_in_get_and_filter_raises_only_registry_errors(labels, value):
    try:
        ln.ULabel.get(value)
    except RegistryError:
        pass
    assert ln.ULabel.filter(id=value).count() == (1 if 1 <= value <= 30 else 0)
