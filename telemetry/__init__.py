"""What a running motcua process tells its operators: traces (tracing.py) and metrics."""
