"""One module per section of the report, each a function `(page, result) -> None`
that adds the section's HTML to the page and its numbers to the page's JSON."""
