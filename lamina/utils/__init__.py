"""Small shared helpers: argument validation, name lookup, nested structures."""
