"""Hand-computed checks for bioevo.fitness and bioevo.report.metrics/figures."""
import math

import numpy as np
import pytest

from bioevo import fitness as F
from bioevo.report.metrics import classification_metrics

# 1 individual, 1 sample, 2 steps, 3 classes; true class 0.
TRACE = np.array([[[[1.0, 0.5, 2.0],    # step 0: wrong classes 1 (diff -0.5), 2 (diff +1.0)
                    [3.0, 1.0, 2.8]]]])  # step 1: diffs -2.0, -0.2
LABELS = np.array([0])


def test_membrane_hinge_hand_computed():
    # margin 0: step0 = (0 + 1.0)/2 = 0.5, step1 = (0 + 0)/2 = 0 -> mean 0.25
    np.testing.assert_allclose(F.membrane_hinge(TRACE, LABELS), [0.25])
    # margin 0.5: step0 = (0 + 1.5)/2 = 0.75, step1 = (0 + 0.3)/2 = 0.15 -> mean 0.45
    np.testing.assert_allclose(F.membrane_hinge(TRACE, LABELS, margin=0.5), [0.45])


def test_final_step_hinge_hand_computed():
    np.testing.assert_allclose(F.final_step_hinge(TRACE, LABELS), [0.0])
    np.testing.assert_allclose(F.final_step_hinge(TRACE, LABELS, margin=0.5), [0.15])
    # the same from the last step alone, as the simulation tracks it: wrong classes (1 - 3 + .5, 2.8 - 3 + .5)
    final = np.array([[[3.0, 1.0, 2.8]]])
    np.testing.assert_allclose(F.final_step_hinge(final, LABELS, margin=0.5), [(0.0 + 0.3) / 2])
    with pytest.raises(ValueError, match="labels must lie in"):
        F.final_step_hinge(final, np.array([3]))


def test_hinge_zero_when_true_class_dominates():
    rng = np.random.default_rng(0)
    trace = rng.normal(size=(3, 4, 5, 3))
    labels = np.array([0, 2, 1, 2])
    for b, y in enumerate(labels):
        trace[:, b, :, y] = trace[:, b, :, :].max(axis=-1) + 0.6
    for fn in (F.membrane_hinge, F.final_step_hinge):
        out = fn(trace, labels, margin=0.5)
        assert out.shape == (3,) and out.dtype == np.float64
        np.testing.assert_array_equal(out, 0.0)
        assert np.all(fn(trace, labels, margin=1.0) > 0)


def test_hinge_vectorised_matches_loop():
    rng = np.random.default_rng(1)
    trace = rng.normal(size=(3, 4, 6, 5))
    labels = np.array([4, 0, 1, 1])
    out = F.membrane_hinge(trace, labels, margin=0.2)
    expected = []
    for p in range(3):
        vals = []
        for b, y in enumerate(labels):
            for t in range(6):
                vals.append(np.mean([max(0.0, trace[p, b, t, o] - trace[p, b, t, y] + 0.2)
                                     for o in range(5) if o != y]))
        expected.append(np.mean(vals))
    np.testing.assert_allclose(out, expected)


def test_max_cross_entropy_matches_direct_math():
    vmax = np.array([[[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]],
                     [[10.0, 0.0, 0.0], [2.0, 2.0, 2.0]],
                     [[-3.0, 4.0, 1.0], [0.5, 0.25, 0.0]]])
    labels = np.array([1, 2])
    out = F.max_cross_entropy(vmax, labels)
    assert out.shape == (3,)
    for p in range(3):
        ce = [-math.log(math.exp(vmax[p, b, y]) / sum(math.exp(v) for v in vmax[p, b]))
              for b, y in enumerate(labels)]
        assert out[p] == pytest.approx(sum(ce) / len(ce), rel=1e-12)


def test_max_cross_entropy_is_stable_for_large_values():
    vmax = np.array([[[1000.0, 0.0], [5000.0, 5001.0]]])
    out = F.max_cross_entropy(vmax, np.array([0, 1]))
    assert np.all(np.isfinite(out))
    expected = (math.log1p(math.exp(-1000.0)) + math.log1p(math.exp(-1.0))) / 2
    assert out[0] == pytest.approx(expected)


def test_accuracy_and_predictions():
    vmax = np.array([[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]],
                     [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]],
                     [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]])
    labels = np.array([1, 0, 1])
    np.testing.assert_array_equal(F.predictions(vmax), [[1, 0, 1], [0, 0, 0], [1, 1, 1]])
    np.testing.assert_allclose(F.accuracy(vmax, labels), [1.0, 1 / 3, 2 / 3])


def test_l2_penalty():
    g = np.array([[1.0, -1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 3.0, 3.0]])
    np.testing.assert_allclose(F.l2_penalty(g, 0.5), [0.5 * 6 / 4, 0.0, 0.5 * 9])


def test_registry_and_unknown_loss():
    assert set(F.LOSSES) == {"membrane_hinge", "final_step_hinge", "max_cross_entropy", "cross_entropy",
                             "spike_count_hinge"}
    fn, reads, takes_margin, takes_temperature = F.get_loss("max_cross_entropy")
    assert fn is F.max_cross_entropy and reads == "vmax" and not takes_margin and takes_temperature
    assert F.get_loss("membrane_hinge") == (F.membrane_hinge, "trace", True, False)
    assert F.get_loss("spike_count_hinge") == (F.spike_count_hinge, "spike_counts", True, False)
    assert F.get_loss("final_step_hinge") == (F.final_step_hinge, "vfinal", True, False)  # tracked, no trace needed
    assert F.get_loss("cross_entropy") == (F.cross_entropy, "readout", False, True)
    # every readout and loss reads something the simulation can record (or the readout's scores)
    assert {r.reads for r in F.READOUT_REGISTRY.values()} <= set(F.RECORDED)
    assert {loss.reads for loss in F.LOSSES.values()} <= set(F.RECORDED) | {"readout"}
    assert F.READOUTS == {"max": "vmax", "final": "vfinal", "sum": "vsum", "spike_count": "spike_counts",
                          "first_spike": "first_spikes"}
    with pytest.raises(ValueError, match="unknown loss 'nope'; allowed: .*membrane_hinge"):
        F.get_loss("nope")


def test_bad_labels_raise():
    with pytest.raises(ValueError):
        F.membrane_hinge(TRACE, np.array([3]))
    with pytest.raises(ValueError):
        F.max_cross_entropy(np.zeros((1, 2, 3)), np.array([0]))


def test_classification_metrics_hand_computed():
    # 3 classes; class 2 is never predicted.
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 0, 1])
    m = classification_metrics(y_true, y_pred, 3)
    assert m["confusion"] == [[2, 1, 0], [1, 1, 0], [0, 1, 0]]
    assert m["accuracy"] == pytest.approx(3 / 6)
    # precision: c0 2/3, c1 1/3, c2 0 (no predictions); recall: c0 2/3, c1 1/2, c2 0
    np.testing.assert_allclose(m["precision_per_class"], [2 / 3, 1 / 3, 0.0])
    np.testing.assert_allclose(m["recall_per_class"], [2 / 3, 1 / 2, 0.0])
    f1_1 = 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2)
    np.testing.assert_allclose(m["f1_per_class"], [2 / 3, f1_1, 0.0])
    assert m["precision"] == pytest.approx((2 / 3 + 1 / 3) / 3)
    assert m["recall"] == pytest.approx((2 / 3 + 1 / 2) / 3)
    assert m["f1"] == pytest.approx((2 / 3 + f1_1) / 3)
    assert m["support"] == [3, 2, 1]


def test_classification_metrics_rejects_out_of_range():
    with pytest.raises(ValueError):
        classification_metrics(np.array([0, 3]), np.array([0, 1]), 3)


def test_plot_confusion_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    from bioevo.report.figures import plot_confusion

    out = plot_confusion([[2, 1], [0, 3]], tmp_path / "sub" / "cm.png", class_names=["a", "b"])
    assert out.exists() and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- readouts and the losses added with them, on hand-made data ---------------------------------

def test_readouts_hand_computed():
    # TRACE: 1 individual, 1 sample, steps [1, .5, 2] then [3, 1, 2.8]
    vmax = TRACE.max(axis=2)
    np.testing.assert_array_equal(F.scores_of("max", dict(vmax=vmax)), [[[3.0, 1.0, 2.8]]])
    np.testing.assert_array_equal(F.scores_of("final", dict(trace=TRACE)), [[[3.0, 1.0, 2.8]]])
    np.testing.assert_array_equal(F.scores_of("sum", dict(trace=TRACE)), [[[4.0, 1.5, 4.8]]])
    counts = np.array([[[2, 5, 0]]])
    np.testing.assert_array_equal(F.scores_of("spike_count", dict(spike_counts=counts)), [[[2, 5, 0]]])
    first = np.array([[[7, 3, 50]]])  # class 2 never spiked in a 50-step sample
    np.testing.assert_array_equal(F.scores_of("first_spike", dict(first_spikes=first)), [[[-7, -3, -50]]])
    # predictions: sum says class 2, final says class 0, spike count and first spike say class 1
    assert [F.predictions(F.scores_of(k, {"trace": TRACE}))[0, 0] for k in ("final", "sum")] == [0, 2]
    assert F.predictions(F.scores_of("first_spike", dict(first_spikes=first)))[0, 0] == 1
    assert F.predictions(np.zeros((1, 1, 3)))[0, 0] == 0  # ties (e.g. all silent): the lowest class


def test_loss_values_read_what_the_registry_says():
    labels = np.array([1])
    rec = {"trace": TRACE, "vmax": TRACE.max(axis=2)}
    np.testing.assert_array_equal(F.loss_values("membrane_hinge", rec, None, labels, 0.5),
                                  F.membrane_hinge(TRACE, labels, margin=0.5))
    # the final-step hinge from the trace alone equals it from the tracked last step
    tracked = F.loss_values("final_step_hinge", {"vfinal": TRACE[:, :, -1, :]}, None, labels, 0.5)
    np.testing.assert_array_equal(F.loss_values("final_step_hinge", rec, None, labels, 0.5), tracked)
    np.testing.assert_allclose(tracked, [(max(0, 3.0 - 1.0 + 0.5) + max(0, 2.8 - 1.0 + 0.5)) / 2])
    scores = F.scores_of("sum", rec)
    np.testing.assert_array_equal(F.loss_values("cross_entropy", rec, scores, labels),
                                  F.cross_entropy(scores, labels))
    with pytest.raises(ValueError, match="loss 'spike_count_hinge' needs 'spike_counts', which the simulation"):
        F.loss_values("spike_count_hinge", rec, None, labels)
    with pytest.raises(ValueError, match="readout 'first_spike' needs 'first_spikes'"):
        F.scores_of("first_spike", rec)


def test_a_new_readout_is_one_registry_entry(monkeypatch):
    """Scoring and what the simulation records follow from the entry alone."""
    from bioevo.scoring import recording_needs
    monkeypatch.setitem(F.READOUT_REGISTRY, "neg_final", F.Readout("vfinal", -1.0, "test only"))
    np.testing.assert_array_equal(F.scores_of("neg_final", {"trace": TRACE}), [[[-3.0, -1.0, -2.8]]])
    fit = {"readout": "neg_final", "loss": "cross_entropy", "smoothness": 0.0}
    assert recording_needs(fit) == (False, False, ("final",))


def test_tracked_final_and_sum_take_precedence_over_the_trace():
    vfinal, vsum = np.array([[[9.0, 0.0, 1.0]]]), np.array([[[0.0, 1.0, 7.0]]])
    np.testing.assert_array_equal(F.scores_of("final", dict(trace=TRACE, vfinal=vfinal)), vfinal)
    np.testing.assert_array_equal(F.scores_of("sum", dict(trace=TRACE, vsum=vsum)), vsum)
    np.testing.assert_array_equal(F.scores_of("sum", dict(vsum=vsum, trace=None)), vsum)
    np.testing.assert_array_equal(F.scores_of("final", dict(trace=TRACE, vsum=vsum)), [[[3.0, 1.0, 2.8]]])
    with pytest.raises(ValueError, match=r"readout 'final': data must have shape \(P, B, O\)"):
        F.scores_of("final", {"vfinal": np.zeros((1, 2))})


def test_readout_errors_name_the_problem():
    with pytest.raises(ValueError, match="unknown readout 'mean'; allowed: max, final, sum, spike_count, first_spike"):
        F.scores_of("mean", {"vmax": np.zeros((1, 1, 2))})
    with pytest.raises(ValueError, match="readout 'final' needs 'vfinal', which the simulation did not record"):
        F.scores_of("final", {"vmax": np.zeros((1, 1, 2))})


def test_spike_count_hinge_hand_computed():
    counts = np.array([[[2, 5, 0], [4, 1, 1]],    # individual 0; labels 0, 0
                       [[6, 5, 0], [4, 4, 1]]])   # individual 1
    labels = np.array([0, 0])
    # ind 0: sample 0 (max(0, 5-2) + 0)/2 = 1.5, sample 1 0 -> 0.75; ind 1: all wrong classes below -> 0
    np.testing.assert_allclose(F.spike_count_hinge(counts, labels), [0.75, 0.0])
    # margin 2: ind 0: s0 (5 + 0)/2 = 2.5, s1 (0 + 0)/2 = 0 -> 1.25; ind 1: s0 (1 + 0)/2, s1 (2 + 0)/2 -> 0.75
    np.testing.assert_allclose(F.spike_count_hinge(counts, labels, margin=2.0), [1.25, 0.75])


def test_cross_entropy_on_any_readout_equals_max_cross_entropy_on_vmax():
    scores = np.random.default_rng(3).normal(size=(2, 4, 3))
    labels = np.array([0, 2, 1, 1])
    np.testing.assert_array_equal(F.cross_entropy(scores, labels), F.max_cross_entropy(scores, labels))


def test_smoothness_penalty_hand_computed():
    # differences: class 0 +2, class 1 +0.5, class 2 +0.8 -> mean square (4 + .25 + .64)/3 = 1.63
    np.testing.assert_allclose(F.smoothness_penalty(TRACE, 1.0), [4.89 / 3])
    np.testing.assert_allclose(F.smoothness_penalty(TRACE, 0.1), [0.489 / 3])
    flat = np.ones((2, 3, 5, 4))
    np.testing.assert_array_equal(F.smoothness_penalty(flat, 1.0), [0.0, 0.0])


def test_temperature_divides_the_softmax_scores():
    """Two classes: cross-entropy is log(1 + exp(-(v_true - v_other) / T)); accuracy is not the loss's business."""
    vmax = np.array([[[4.0, 0.0], [0.0, 8.0], [1.0, 1.0]]])  # right by 4, wrong by 8, a tie
    labels = np.array([0, 0, 1])
    for T in (1.0, 4.0, 8.0):
        expected = (math.log1p(math.exp(-4.0 / T)) + math.log1p(math.exp(8.0 / T)) + math.log(2.0)) / 3
        got = F.loss_values("max_cross_entropy", {"vmax": vmax}, None, labels, temperature=T)
        assert got[0] == pytest.approx(expected, rel=1e-12)
        assert F.loss_values("cross_entropy", {}, vmax, labels, temperature=T)[0] == pytest.approx(expected, rel=1e-12)
    # why a temperature: at T=1 a random winner (one right by 8, one wrong by 8) costs far more than a tie (log 2),
    # at T=8 about as much, so that activity which is still undecided is not pushed back to silence
    coin = np.array([[[8.0, 0.0], [0.0, 8.0]]])
    tie = F.loss_values("max_cross_entropy", {"vmax": np.zeros((1, 2, 2))}, None, np.array([0, 0]))[0]
    assert F.loss_values("max_cross_entropy", {"vmax": coin}, None, np.array([0, 0]))[0] > 5 * tie
    assert F.loss_values("max_cross_entropy", {"vmax": coin}, None, np.array([0, 0]), temperature=8.0)[0] < 1.4 * tie


def test_temperature_is_refused_by_a_loss_without_a_softmax():
    with pytest.raises(ValueError, match="loss 'membrane_hinge' takes no temperature"):
        F.loss_values("membrane_hinge", {"trace": TRACE}, None, LABELS, 0.0, temperature=2.0)
