"""The fit / evaluate / predict loops, data adapters, callbacks and progress display."""
