"""Streaming anomaly models, one algorithm per module, all following `detectors.base.AnomalyModel`."""

from detectors.models.discord import Discord
from detectors.models.ew_deviation import EWDeviation
from detectors.models.likelihood import Surprise
from detectors.models.mahalanobis import Mahalanobis
from detectors.models.zscore import ZScore

__all__ = ["Discord", "EWDeviation", "Mahalanobis", "Surprise", "ZScore"]
