"""Profiles, encoder fingerprints, messenger traces, watermark checks and the verdict per image."""
