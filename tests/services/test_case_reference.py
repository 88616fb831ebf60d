"""Case references: one per case, sequential, said on the phone and typed back in any reasonable way; a search
by reference finds only a case the caller may know of (an unknown and a hidden case look the same)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.services import cases
from app.services.context import ServiceContext
from app.services.errors import InvalidInput
from app.workflow.references import format_reference, normalise_reference
from tests.factories import principal, refer


def test_format_keeps_five_digits_and_grows_past_them() -> None:
    assert format_reference(2027, 42) == "MNR-2027-00042"
    assert format_reference(2027, 123456) == "MNR-2027-123456"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("MNR-2027-00042", "MNR-2027-00042"),
        ("  mnr 2027 42 ", "MNR-2027-00042"),
        ("mnr202700042", "MNR-2027-00042"),
        ("MNR-2027-42", "MNR-2027-00042"),
        ("ABC-2027-00042", None),
        ("MNR-27-00042", None),
        ("MNR-2027-", None),
        ("", None),
    ],
)
def test_typed_references_are_normalised(typed: str, stored: str | None) -> None:
    assert normalise_reference(typed) == stored


@given(st.integers(min_value=1900, max_value=9999), st.integers(min_value=0, max_value=10**11))
def test_every_reference_reads_back_as_itself(year: int, number: int) -> None:
    reference = format_reference(year, number)
    assert normalise_reference(reference) == reference
    assert normalise_reference(reference.lower().replace("-", " ")) == reference


def test_references_are_sequential_and_found_only_by_who_may_know(ctx: ServiceContext) -> None:
    ngo = principal(ctx, "ref-ngo", ["referrer"], "NGO Reference One", "ngo")
    other = principal(ctx, "ref-other", ["referrer"], "NGO Reference Two", "ngo")
    coordinator = principal(ctx, "ref-coord", ["coordinator"], "Secretariat Reference", "coordination")
    first, second = refer(ctx, ngo), refer(ctx, ngo)
    views = [cases.get_case(ctx, ngo, first), cases.get_case(ctx, ngo, second)]
    year = ctx.clock.now().year
    number = int(views[0].reference.rsplit("-", 1)[1])
    assert [v.reference for v in views] == [format_reference(year, number), format_reference(year, number + 1)]

    typed = f"mnr {year} {number + 1}"
    assert [v.id for v in cases.list_cases(ctx, ngo, reference=typed).items] == [second]
    assert [v.id for v in cases.list_cases(ctx, coordinator, reference=typed).items] == [second]
    # Another organisation's referrer may not know of the case: a reference finds nothing, as an unknown one.
    assert cases.list_cases(ctx, other, reference=typed).items == []
    assert cases.list_cases(ctx, ngo, reference=f"MNR-{year}-99999").items == []
    with pytest.raises(InvalidInput):
        cases.list_cases(ctx, ngo, reference="not a reference")
