"""Reference profiles of the training data and drift monitoring (filled in by issue #12)."""
