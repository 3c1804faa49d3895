"""Detection matching, lesion metrics and FROC against brute force and hand counts."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radassure.core import (
    UndefinedMetricWarning,
    case_level_metrics,
    diagnostic_metrics,
    false_positives_per_image,
    froc_points,
    lesion_sensitivity,
    match_detections,
    poisson_rate_interval,
    proportion_interval,
)


def brute_force_match(ref, pred, max_distance):
    """Best matching by enumeration: most pairs, then smallest total distance."""
    ref, pred = np.asarray(ref, float), np.asarray(pred, float)
    best = (0, 0.0)
    n_r, n_p = len(ref), len(pred)
    if n_r == 0 or n_p == 0:
        return best
    small, large = (ref, pred) if n_r <= n_p else (pred, ref)
    for perm in itertools.permutations(range(len(large)), len(small)):
        d = np.linalg.norm(small - large[list(perm)], axis=1)
        ok = d <= max_distance
        key = (int(ok.sum()), float(d[ok].sum()))
        if key[0] > best[0] or (key[0] == best[0] and key[1] < best[1]):
            best = key
    return best


point_sets = st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10)), min_size=0, max_size=5)


@settings(max_examples=80, deadline=None)
@given(point_sets, point_sets, st.sampled_from([1.0, 2.5, 4.0]))
def test_hungarian_matching_equals_brute_force(ref, pred, max_distance):
    ref_arr = np.asarray(ref, float).reshape(-1, 2)
    pred_arr = np.asarray(pred, float).reshape(-1, 2)
    m = match_detections(ref_arr, pred_arr, max_distance=max_distance)
    n_pairs, total = brute_force_match(ref_arr, pred_arr, max_distance)
    assert m.tp == n_pairs
    d = np.linalg.norm(ref_arr[m.reference_index] - pred_arr[m.predicted_index], axis=1)
    assert np.all(d <= max_distance)
    assert d.sum() == pytest.approx(total, abs=1e-9)
    assert m.tp + m.fn == len(ref)
    assert m.tp + m.fp == len(pred)
    assert len(set(m.reference_index)) == m.tp
    assert len(set(m.predicted_index)) == m.tp


def test_hungarian_beats_greedy_nearest_first():
    # Greedy nearest-first would pair P1 with B (0.5 apart) and leave P2 unmatched.
    ref = [[0.0, 0.0], [2.0, 0.0]]
    pred = [[1.5, 0.0], [3.4, 0.0]]
    m = match_detections(ref, pred, max_distance=1.6)
    assert m.tp == 2
    assert dict(zip(m.reference_index.tolist(), m.predicted_index.tolist(), strict=True)) == {
        0: 0,
        1: 1,
    }


def test_iou_matching_2d_and_3d():
    ref = [[0, 0, 10, 10], [20, 20, 30, 30]]
    # IoU with ref 0: 50 / 150 = 1/3; with ref 1: 81 / 119 ~ 0.68.
    pred = [[5, 0, 15, 10], [21, 21, 30, 30]]
    assert match_detections(ref, pred, criterion="iou", min_iou=0.3).tp == 2
    m = match_detections(ref, pred, criterion="iou", min_iou=0.5)
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.reference_index.tolist() == [1]
    cube = [[0, 0, 0, 2, 2, 2]]
    half = [[1, 0, 0, 3, 2, 2]]  # overlap 4, union 12
    assert match_detections(cube, half, criterion="iou", min_iou=1 / 3).tp == 1
    assert match_detections(cube, half, criterion="iou", min_iou=0.34).tp == 0


def test_empty_images():
    m = match_detections(np.empty((0, 2)), [[1, 1]], max_distance=2)
    assert (m.tp, m.fp, m.fn) == (0, 1, 0)
    m = match_detections([[1, 1]], [], max_distance=2)
    assert (m.tp, m.fp, m.fn) == (0, 0, 1)


def _study():
    ref = [[[0, 0], [10, 0]], [[5, 5]], [], [[3, 3]]]
    pred = [[[1, 0], [30, 30]], [[5, 6], [20, 20], [40, 40]], [[8, 8]], []]
    scores = [[0.9, 0.3], [0.8, 0.6, 0.2], [0.7], []]
    return ref, pred, scores


def test_lesion_sensitivity_and_fppi_from_hand_counts():
    ref, pred, scores = _study()
    sens = lesion_sensitivity(ref, pred, max_distance=2)
    assert sens.value == pytest.approx(2 / 4)
    assert (sens.ci_low, sens.ci_high) == pytest.approx(proportion_interval(2, 4))
    fppi = false_positives_per_image(ref, pred, max_distance=2)
    # FP: image 0 one, image 1 two, image 2 one -> 4 over 4 images.
    assert fppi.value == 1.0
    assert (fppi.ci_low, fppi.ci_high) == pytest.approx(poisson_rate_interval(4, 4))
    assert fppi.n == 4
    thresholded = false_positives_per_image(ref, pred, max_distance=2, scores=scores, threshold=0.5)
    assert thresholded.value == pytest.approx(2 / 4)  # 0.6 in image 1, 0.7 in image 2


def test_froc_equals_recomputation_at_each_threshold():
    rng = np.random.default_rng(0)
    ref, pred, scores = [], [], []
    for _ in range(12):
        lesions = rng.uniform(0, 50, size=(rng.integers(0, 4), 2))
        hits = lesions[rng.random(len(lesions)) < 0.7] + rng.normal(0, 1.5, size=(1, 2))
        noise = rng.uniform(0, 50, size=(rng.integers(0, 4), 2))
        found = np.vstack([hits, noise]) if len(hits) + len(noise) else np.empty((0, 2))
        ref.append(lesions)
        pred.append(found)
        scores.append(np.round(rng.uniform(0, 1, len(found)), 1))
    curve = froc_points(ref, pred, scores, max_distance=3.0, fp_rates=[0.25, 1.0])
    assert curve.thresholds[0] == math.inf
    assert curve.sensitivity[0] == 0.0
    for t, s, f in zip(
        curve.thresholds[1:], curve.sensitivity[1:], curve.fp_per_image[1:], strict=True
    ):
        kw = {"max_distance": 3.0, "scores": scores, "threshold": t}
        assert s == pytest.approx(lesion_sensitivity(ref, pred, **kw).value)
        assert f == pytest.approx(false_positives_per_image(ref, pred, **kw).value)
    assert np.all(np.diff(curve.sensitivity) >= 0)
    assert np.all(np.diff(curve.fp_per_image) >= -1e-12)
    for rate, at in zip(curve.fp_rates, curve.sensitivity_at, strict=True):
        assert at == pytest.approx(curve.sensitivity[curve.fp_per_image <= rate].max())
    assert curve.mean_sensitivity == pytest.approx(np.mean(curve.sensitivity_at))


def test_froc_without_lesions_warns():
    with pytest.warns(UndefinedMetricWarning, match="no reference lesions"):
        curve = froc_points([[]], [[[1, 1]]], [[0.5]], max_distance=1)
    assert np.all(np.isnan(curve.sensitivity_at))
    assert curve.fp_per_image[-1] == 1.0


def test_case_level_metrics():
    ref = [[[0, 0]], [[5, 5]], [], [], [[1, 1]], [], [[2, 2]]]
    pred = [[[0, 1]], [[40, 40]], [[3, 3]], [], [], [], [[2, 2]]]
    truth = [1, 1, 0, 0, 1, 0, 1]
    # Any prediction counts as a positive call...
    assert case_level_metrics(ref, pred) == diagnostic_metrics(truth, [1, 1, 1, 0, 0, 0, 1])
    # ...unless it must hit a lesion: image 1's prediction is in the wrong place.
    located = case_level_metrics(ref, pred, max_distance=2, require_localisation=True)
    assert located == diagnostic_metrics(truth, [1, 0, 1, 0, 0, 0, 1])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: match_detections([[0, 0]], [[1, 1]]), "needs max_distance="),
        (lambda: match_detections([[0, 0]], [[1, 1]], criterion="iou"), "needs min_iou="),
        (
            lambda: match_detections([[0, 0]], [[1, 1]], criterion="dice", max_distance=1),
            "criterion",
        ),
        (
            lambda: match_detections([[0, 0, 1, 1]], [[2, 2, 1, 1]], criterion="iou", min_iou=0.5),
            "every hi above",
        ),
        (lambda: match_detections([[0, 0]], [[1, 1, 1]], max_distance=1), "same layout"),
        (lambda: match_detections([0, 0], [[1, 1]], max_distance=1), "2-D array"),
        (lambda: lesion_sensitivity([[]], [[], []], max_distance=1), "one entry per image"),
        (lambda: lesion_sensitivity([[]], [[]], max_distance=1, threshold=0.5), "needs scores="),
        (
            lambda: froc_points([[[0, 0]]], [[[0, 0]]], [[0.5, 0.6]], max_distance=1),
            "one finite score",
        ),
        (
            lambda: froc_points([[[0, 0]]], [[[0, 0]]], [[0.5]], max_distance=1, fp_rates=[]),
            "fp_rates",
        ),
    ],
)
def test_bad_arguments_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call()
