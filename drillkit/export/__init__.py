"""Renderers: plans, timelines, after-action reports and figures."""
