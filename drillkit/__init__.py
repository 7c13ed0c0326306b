"""drillkit: incident response and emergency drills for telecom operators."""

__version__ = "0.1.0"
