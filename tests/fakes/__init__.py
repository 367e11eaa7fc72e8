"""Fake platforms: real HTTP servers speaking each platform's wire format, for the collector tests."""
