"""One module per section of the report, each a function `(page, result) -> None`
that adds the section's HTML to the page and its numbers to the page's JSON.

`tuning` (the `tuning=` argument of `report`) takes a `lamina.tuning.Tuner` or
its `TuningResults`; it imports nothing from `lamina.tuning`, so a report
without a search never imports Optuna."""
