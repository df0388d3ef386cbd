"""Feature-visualization objectives: values against direct tensor arithmetic, composition,
the string form, and clear errors for layers, channels and classes that do not exist."""

import pytest
import torch

import cnnwidgets as cw
from cnnwidgets.engines import featureviz as fv
from cnnwidgets.engines.featureviz.objectives import INPUT, LOGITS, ObjectiveError


@pytest.fixture()
def acts():
    g = torch.Generator().manual_seed(0)
    return {
        "a": torch.randn(3, 5, 6, 7, generator=g),
        "b": torch.randn(3, 4, 2, 2, generator=g),
        "v": torch.randn(3, 9, generator=g),
        INPUT: torch.rand(3, 3, 8, 8, generator=g),
        LOGITS: torch.randn(3, 10, generator=g),
    }


def test_channel_is_the_mean_over_positions(acts):
    v = fv.channel("a", 2)(acts)
    assert v.shape == (3,)
    torch.testing.assert_close(v, acts["a"][:, 2].mean((1, 2)))
    # a (N, C) layer: one position
    torch.testing.assert_close(fv.channel("v", 4)(acts), acts["v"][:, 4])


def test_arithmetic_composes_values_and_layers(acts):
    a, b = fv.channel("a", 1), fv.channel("b", 3)
    va, vb = a(acts), b(acts)
    torch.testing.assert_close((a + b)(acts), va + vb)
    torch.testing.assert_close((a - b)(acts), va - vb)
    torch.testing.assert_close((-a)(acts), -va)
    torch.testing.assert_close((2 * a)(acts), 2 * va)
    torch.testing.assert_close((a * 0.5)(acts), 0.5 * va)
    torch.testing.assert_close((a / 4)(acts), va / 4)
    torch.testing.assert_close((a + 1)(acts), va + 1)
    torch.testing.assert_close((1 - a)(acts), 1 - va)
    torch.testing.assert_close(sum([a, b, a])(acts), 2 * va + vb)
    torch.testing.assert_close((a - 0.5 * (b + a))(acts), va - 0.5 * (vb + va))
    assert (a + b).layers == {"a", "b"}
    assert (a - 2 * b).layers == {"a", "b"}
    assert "channel(a:1)" in repr(a - b) and "channel(b:3)" in repr(a - b)


def test_objectives_do_not_multiply_each_other(acts):
    a = fv.channel("a", 1)
    with pytest.raises(TypeError):
        a * a
    with pytest.raises(TypeError):
        a / a


def test_string_form_and_its_negative(acts):
    o = fv.as_objective("a:3")
    assert o.layers == {"a"}
    torch.testing.assert_close(o(acts), acts["a"][:, 3].mean((1, 2)))
    torch.testing.assert_close(fv.as_objective("-a:3")(acts), -acts["a"][:, 3].mean((1, 2)))
    dotted = fv.as_objective("_blocks.10:12")
    assert dotted.layers == {"_blocks.10"}
    for bad in ("a", "a:x", ":3", "a:1.5"):
        with pytest.raises(ObjectiveError):
            fv.as_objective(bad)
    with pytest.raises(TypeError):
        fv.as_objective(3)


def test_neuron_centre_and_given_position(acts):
    t = acts["a"]  # 6 high, 7 wide
    torch.testing.assert_close(fv.neuron("a", 2)(acts), t[:, 2, 3, 3])
    torch.testing.assert_close(fv.neuron("a", 2, x=5, y=1)(acts), t[:, 2, 1, 5])


def test_deepdream_class_and_direction(acts):
    torch.testing.assert_close(fv.layer("b")(acts), (acts["b"] ** 2).mean((1, 2, 3)))
    assert fv.deepdream is fv.layer
    c = fv.class_logit(7)
    assert c.layers == {fv.objectives.LOGITS}
    torch.testing.assert_close(c(acts), acts[LOGITS][:, 7])
    d = torch.tensor([1.0, -2.0, 0.5, 3.0])
    t = acts["b"]
    ref = ((t * d.view(1, 4, 1, 1)).sum(1) / (t.norm(dim=1) * d.norm())).mean((1, 2))
    torch.testing.assert_close(fv.direction("b", d)(acts), ref, rtol=1e-5, atol=1e-6)
    dot = (t * d.view(1, 4, 1, 1)).sum(1).mean((1, 2))
    torch.testing.assert_close(fv.direction("b", d, cossim=False)(acts), dot)


def test_diversity_penalises_similar_images():
    same = torch.ones(1, 4, 5, 5).repeat(3, 1, 1, 1)
    torch.testing.assert_close(fv.diversity("x")({"x": same}), torch.full((3,), -1.0))
    assert fv.diversity("x")({"x": same[:1]}).tolist() == [0.0]
    g = torch.Generator().manual_seed(1)
    # Images that use disjoint channels have orthogonal Gram matrices: the best diversity.
    apart = torch.zeros(2, 4, 5, 5)
    apart[0, :2] = torch.rand(2, 5, 5, generator=g)
    apart[1, 2:] = torch.rand(2, 5, 5, generator=g)
    torch.testing.assert_close(fv.diversity("x")({"x": apart}), torch.zeros(2))


def test_regularisers_measure_the_image():
    grey = {INPUT: torch.full((2, 3, 6, 6), 0.5)}
    for reg in (fv.total_variation(), fv.l1(), fv.l2(), fv.blur()):
        torch.testing.assert_close(reg(grey), torch.zeros(2), atol=1e-6, rtol=0)
    stripes = torch.zeros(1, 3, 4, 4)
    stripes[..., ::2] = 1.0  # columns alternate 1, 0, 1, 0
    v = fv.total_variation()({INPUT: stripes})
    torch.testing.assert_close(v, torch.tensor([1.0]))  # every horizontal step is 1
    torch.testing.assert_close(fv.l1()({INPUT: stripes}), torch.tensor([0.5]))
    assert float(fv.blur()({INPUT: stripes})) > 0.01


def test_validate_against_the_model(tiny_cnn):
    fv.as_objective("conv2:5").validate(tiny_cnn)
    with pytest.raises(cw.LayerNotFoundError):
        fv.as_objective("conv9:0").validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match=r"channel 6 .*6 channels \(0\.\.5\)"):
        fv.as_objective("conv2:6").validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="class 5"):
        fv.class_logit(5).validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="outside"):
        fv.neuron("conv2", 0, x=16).validate(tiny_cnn)
    with pytest.raises(ObjectiveError, match="4 values"):
        fv.direction("conv2", [1.0, 0, 0, 0]).validate(tiny_cnn)
    # composition keeps every part's checks
    with pytest.raises(ObjectiveError):
        (fv.channel("conv1", 0) + 0.1 * fv.channel("conv2", 10)).validate(tiny_cnn)
