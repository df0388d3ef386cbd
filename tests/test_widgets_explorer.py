"""Explorer: shared layer, image upload (non-images show an error), parts follow, no leaks."""

from __future__ import annotations

import io

import ipywidgets
import numpy as np
import pytest

from cnnwidgets.widgets import Explorer


@pytest.fixture()
def explorer(tiny_cnn, cat, no_thread_leak):
    w = Explorer(tiny_cnn, cat)
    yield w
    w.close()


def _png(image) -> memoryview:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return memoryview(buf.getvalue())


def test_dashboard_at_construction(explorer, tiny_cnn):
    assert explorer.error == "" and explorer.view.startswith(b"\xff\xd8")
    assert explorer.layer == tiny_cnn.default_cam_layer
    assert explorer.predictions.count("\n") == 4
    for part in explorer.parts:
        assert part.error == "" and part.view
    box = explorer.show()
    assert isinstance(box, ipywidgets.GridBox) and "cnnw-dashboard" in box._dom_classes
    assert box.children == (explorer, explorer.gradcam, explorer.saliency, explorer.feature_maps)


def test_the_shared_layer_drives_cam_and_feature_maps(explorer):
    cam, maps = explorer.gradcam.view, explorer.feature_maps.view
    explorer.layer = "conv1"
    explorer.flush()
    assert explorer.gradcam.layer == explorer.feature_maps.layer == "conv1"
    assert explorer.gradcam.view != cam and explorer.feature_maps.view != maps
    assert explorer.gradcam.error == explorer.feature_maps.error == ""


def test_upload_by_file_updates_every_part(explorer, coffee):
    views = [p.view for p in explorer.parts]
    photo = explorer.view
    explorer._on_action(explorer, {"type": "upload", "name": "coffee.png"}, [_png(coffee)])
    explorer.flush()
    assert explorer.error == "" and explorer.view != photo
    assert all(p.view != v for p, v in zip(explorer.parts, views))


def test_a_non_image_upload_shows_an_error_and_keeps_working(explorer, coffee):
    photo = explorer.view
    explorer._on_action(
        explorer, {"type": "upload", "name": "notes.txt"}, [memoryview(b"hello, not a picture")]
    )
    assert "notes.txt" in explorer.error and explorer.view == photo
    explorer._on_action(explorer, {"type": "upload", "name": "coffee.png"}, [_png(coffee)])
    explorer.flush()
    assert explorer.error == "" and explorer.view != photo
    assert all(p.error == "" for p in explorer.parts)


def same(a, b) -> bool:
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("part", ["gradcam", "saliency", "feature_maps"])
def test_a_picture_given_to_one_part_reaches_the_whole_dashboard(explorer, coffee, part):
    views = {p: p.view for p in explorer.parts}
    header = explorer.view
    # A file dropped on the part (its own upload action), as the front end sends it.
    one = getattr(explorer, part)
    one._on_action(one, {"type": "upload", "name": "coffee.png"}, [_png(coffee)])
    explorer.flush()
    assert one.error == "" and explorer.error == ""
    assert explorer.view != header and same(explorer.image, coffee)
    for p in explorer.parts:
        assert p.view != views[p] and p.error == "", type(p).__name__
        assert same(p.image, coffee), type(p).__name__


def test_set_image_on_a_part_from_code_keeps_the_dashboard_in_step(explorer, tiny_cnn, coffee):
    assert explorer.saliency.set_image(coffee)
    explorer.flush()
    top = tiny_cnn.predict(coffee, k=1)[0][1]
    assert top in explorer.predictions.splitlines()[0]
    assert all(same(p.image, coffee) for p in explorer.parts)
    assert not explorer.feature_maps.set_image("no-such-picture.png")
    assert "no-such-picture" in explorer.feature_maps.error
    assert same(explorer.image, coffee) and all(same(p.image, coffee) for p in explorer.parts)
