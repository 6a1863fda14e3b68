"""Health Innovation Exchange: challenges, innovations and their spread across the NHS."""
