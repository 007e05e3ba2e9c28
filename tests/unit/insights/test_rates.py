"""Small samples are shrunk and never outrank large ones on luck."""
import pytest

from service.insights.rates import pooled, rate, shrunk, wilson_lower


def test_shrunk_rate_is_the_beta_binomial_posterior_mean():
    assert shrunk(2, 3, prior=0.3, strength=20) == pytest.approx((2 + 6) / 23)
    assert shrunk(0, 0, prior=0.3) == pytest.approx(0.3)


def test_two_of_three_never_outranks_300_of_1000():
    prior = pooled([(2, 3), (300, 1000)])
    small, large = rate(2, 3, prior), rate(300, 1000, prior)
    assert small.rank_key < large.rank_key
    for any_prior in (0.1, 0.5, 0.9):  # whatever the prior, the small sample's own data cannot support it
        assert rate(2, 3, any_prior).rank_key < rate(300, 1000, any_prior).rank_key


def test_large_samples_rank_by_their_rate():
    assert rate(450, 1000, 0.3).rank_key > rate(300, 1000, 0.3).rank_key
    assert rate(300, 1000, 0.3).rank_key == pytest.approx(0.276, abs=0.01)


def test_rate_keeps_its_sample_size_for_display():
    r = rate(2, 3, 0.3)
    assert r.as_dict()["trials"] == 3 and r.raw == pytest.approx(2 / 3)
    assert wilson_lower(0, 0) == 0
