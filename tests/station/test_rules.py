"""Map rules: distances and the bounding-box pre-filter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from api.station.rules import bounding_box, distance_m


def test_a_degree_of_latitude_is_pi_r_over_180():
    assert abs(distance_m(30.0, 120.0, 31.0, 120.0) - 111_195.08) < 0.01
    # along a parallel the great circle is a little shorter than the parallel's arc, R·cos(lat)·Δλ = 96 297.76 m
    assert 96_297.0 < distance_m(30.0, 120.0, 30.0, 121.0) < 96_297.7


@given(st.floats(-80, 80), st.floats(-179, 179), st.floats(10, 100_000), st.floats(0, 1), st.floats(0, 6.28))
def test_every_point_within_the_radius_is_inside_the_box(lat, lng, radius, fraction, bearing):
    import math

    # given: a point at most `radius` away, in any direction
    d = radius * fraction / 6_371_008.8
    lat2 = math.degrees(math.asin(math.sin(math.radians(lat)) * math.cos(d)
                                  + math.cos(math.radians(lat)) * math.sin(d) * math.cos(bearing)))
    lng2 = lng + math.degrees(math.atan2(math.sin(bearing) * math.sin(d) * math.cos(math.radians(lat)),
                                         math.cos(d) - math.sin(math.radians(lat)) * math.sin(math.radians(lat2))))

    # when
    south, north, west, east = bounding_box(lat, lng, radius)

    # then
    assert south - 1e-9 <= lat2 <= north + 1e-9
    assert west - 1e-9 <= lng2 <= east + 1e-9
