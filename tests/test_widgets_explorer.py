"""Explorer: shared layer, image upload (non-images show an error), parts follow, no leaks."""

from __future__ import annotations

import io

import ipywidgets
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
    assert isinstance(box, ipywidgets.VBox) and box.children[0] is explorer


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
