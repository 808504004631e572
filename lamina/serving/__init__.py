"""`lamina serve`: HTTP serving with micro-batching and live monitoring (issue #12)."""
