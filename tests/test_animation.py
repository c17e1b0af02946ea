"""Animations play offline on the web page, read to a screen reader, and print as a still."""

import base64
import io

import matplotlib.image as mpimg
import numpy as np

from kvmem.plots import Animation, weights_animation


def test_animation_offers_html_and_a_still_of_its_last_frame():
    animation = weights_animation(n=6, n_c=3)
    assert isinstance(animation, Animation) and isinstance(animation, str)
    bundle = animation._repr_mimebundle_()
    assert bundle["text/html"] == str(animation)
    still = mpimg.imread(io.BytesIO(base64.b64decode(bundle["image/png"])), format="png")
    assert still.ndim == 3 and still.shape[0] > 100 and still.shape[1] > 100
    assert np.ptp(still[..., :3]) > 0.5, "the still is blank"


def test_animation_html_is_offline_and_labelled():
    html = str(weights_animation(n=6, n_c=3))
    assert "http://" not in html and "https://" not in html
    assert 'alt="' in html and 'aria-label="animation frame"' in html
