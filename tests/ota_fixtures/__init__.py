"""Helpers for the over-the-air update tests: keys, settings, signed manifests, a real mosquitto."""
