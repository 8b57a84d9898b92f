"""The three reference detectors that ship with Scrutiny, in the order the demo runs them."""

from detectors import attendance, overtime, system_misuse
from detectors.runner import ReferenceDetector

REFERENCE_DETECTORS: tuple[ReferenceDetector, ...] = (
    overtime.DETECTOR,
    attendance.DETECTOR,
    system_misuse.DETECTOR,
)
