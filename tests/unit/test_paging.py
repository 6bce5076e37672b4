import pytest

from sales_api.domain.errors import SalesError
from sales_api.domain.paging import Comparison, Page, PageRequest


@pytest.mark.parametrize(("total", "pages"), [(0, 0), (1, 1), (20, 1), (21, 2), (45, 3)])
def test_total_pages(total: int, pages: int) -> None:
    assert Page([], PageRequest(1, 20), total).total_pages == pages


@pytest.mark.parametrize(("page", "per_page"), [(0, 20), (1, 0), (1, 101), (-1, 5)])
def test_page_bounds(page: int, per_page: int) -> None:
    with pytest.raises(SalesError):
        PageRequest(page, per_page)


def test_offset() -> None:
    assert PageRequest(3, 20).offset == 40


def test_operators_in_a_stable_order() -> None:
    assert Comparison(lte=5, gte=1, in_=[2]).operators() == [("gte", 1), ("lte", 5), ("in", [2])]


def test_sets_are_bounded() -> None:
    with pytest.raises(SalesError):
        Comparison(in_=list(range(101)))
