import pytest

from napari_clickseg.core.clicks import Box, Click, check_clicks_inside


def test_click_rounds_to_pixels_and_keeps_row_col_order():
    c = Click(3.6, 7.2, False)
    assert (c.row, c.col, c.is_positive) == (4, 7, False)
    assert c.coords == (4, 7)
    assert c.inside((5, 8)) and not c.inside((4, 8))


def test_click_rejects_non_numbers():
    with pytest.raises(TypeError, match="Click.row"):
        Click("a", 3)
    with pytest.raises(ValueError, match="finite"):
        Click(float("nan"), 3)


def test_box_orders_corners_and_clips():
    b = Box(10, 20, 2, 4)
    assert b.as_tuple() == (2, 4, 10, 20)
    assert b.center == (6, 12) and b.shape == (9, 17)
    assert Box(-5, -5, 3, 100).clip((8, 50)).as_tuple() == (0, 0, 3, 49)
    with pytest.raises(ValueError, match="outside the image"):
        Box(20, 20, 30, 30).clip((10, 10))


def test_clicks_outside_raise_clear_error():
    with pytest.raises(ValueError, match=r"click 1 at \(row=10, col=0\).*10x10"):
        check_clicks_inside([Click(0, 0), Click(10, 0)], (10, 10))
