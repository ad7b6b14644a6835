"""Asset checks: the data-quality gates, shown in the UI's Checks tab."""
