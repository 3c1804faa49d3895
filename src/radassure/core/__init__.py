"""Pure numerics on arrays (numpy and scipy only): metrics, intervals, tests.

Every public function here is reusable outside radassure; nothing in this
package touches files, databases or the web.
"""

from radassure.core.calibration import (
    CalibrationFit,
    ReliabilityCurve,
    brier_score,
    calibration_intercept_slope,
    expected_calibration_error,
    integrated_calibration_index,
    reliability_curve,
)
from radassure.core.claims import (
    ClaimCheck,
    check_claim,
)
from radassure.core.classification import (
    ConfusionCounts,
    confusion_counts,
    diagnostic_metrics,
)
from radassure.core.curves import (
    PrCurve,
    RocCurve,
    average_precision,
    pr_curve,
    roc_curve_with_band,
)
from radassure.core.detection import (
    DetectionMatch,
    false_positives_per_image,
    lesion_sensitivity,
    match_detections,
)
from radassure.core.detection_summary import FrocCurve, case_level_metrics, froc_points
from radassure.core.fairness import (
    AttributeCompleteness,
    Comparison,
    CompletenessReport,
    Disaggregation,
    DisparityFlag,
    DisparityReport,
    GapTest,
    GroupMetric,
    InsufficientData,
    MissingnessWarning,
    adjust_p_values,
    completeness,
    disaggregate,
    flag_disparities,
    registered_metrics,
)
from radassure.core.intervals import (
    poisson_rate_interval,
    proportion_estimate,
    proportion_interval,
)
from radassure.core.ranking import (
    DeLongTest,
    delong_test,
    roc_auc,
)
from radassure.core.results import Estimate
from radassure.core.samplesize import (
    AucSampleSize,
    SampleAdequacy,
    SampleSize,
    hanley_mcneil_se,
    sample_adequacy,
    sample_size_auc,
    sample_size_sensitivity_specificity,
)
from radassure.core.segmentation import (
    SegmentationResult,
    SegmentationStatus,
    SegmentationSummary,
    aggregate_segmentation,
    segmentation_metrics,
)
from radassure.core.thresholds import (
    DecisionCurve,
    OperatingPoint,
    net_benefit,
    threshold_for_sensitivity,
    threshold_for_specificity,
    threshold_metrics,
    youden_threshold,
)
from radassure.errors import UndefinedMetricWarning

__all__ = [
    "AttributeCompleteness",
    "AucSampleSize",
    "CalibrationFit",
    "ClaimCheck",
    "Comparison",
    "CompletenessReport",
    "ConfusionCounts",
    "DeLongTest",
    "DecisionCurve",
    "DetectionMatch",
    "Disaggregation",
    "DisparityFlag",
    "DisparityReport",
    "Estimate",
    "FrocCurve",
    "GapTest",
    "GroupMetric",
    "InsufficientData",
    "MissingnessWarning",
    "OperatingPoint",
    "PrCurve",
    "ReliabilityCurve",
    "RocCurve",
    "SampleAdequacy",
    "SampleSize",
    "SegmentationResult",
    "SegmentationStatus",
    "SegmentationSummary",
    "UndefinedMetricWarning",
    "adjust_p_values",
    "aggregate_segmentation",
    "average_precision",
    "brier_score",
    "calibration_intercept_slope",
    "case_level_metrics",
    "check_claim",
    "completeness",
    "confusion_counts",
    "delong_test",
    "diagnostic_metrics",
    "disaggregate",
    "expected_calibration_error",
    "false_positives_per_image",
    "flag_disparities",
    "froc_points",
    "hanley_mcneil_se",
    "integrated_calibration_index",
    "lesion_sensitivity",
    "match_detections",
    "net_benefit",
    "poisson_rate_interval",
    "pr_curve",
    "proportion_estimate",
    "proportion_interval",
    "registered_metrics",
    "reliability_curve",
    "roc_auc",
    "roc_curve_with_band",
    "sample_adequacy",
    "sample_size_auc",
    "sample_size_sensitivity_specificity",
    "segmentation_metrics",
    "threshold_for_sensitivity",
    "threshold_for_specificity",
    "threshold_metrics",
    "youden_threshold",
]
