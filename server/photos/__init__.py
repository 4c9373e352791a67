"""Photo evidence: checking, orienting, stripping and resizing images (processing.py: pure Pillow)."""
