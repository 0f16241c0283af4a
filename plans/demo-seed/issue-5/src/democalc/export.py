"""Export plots to PNG: waits for the plotting backend (#4)."""
