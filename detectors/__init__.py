"""Reference detectors and the synthetic-force generator.

Everything here is plain Python with no Django import: a detector is an outside system that reads
source-system extracts and talks to Scrutiny only through the ingest API. Keeping it so proves the
API is enough for a real detector, and lets these modules run on a machine without Scrutiny.
"""
