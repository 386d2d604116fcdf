"""What motcua's processes tell ops about themselves: metrics (`telemetry.metrics`) and traces
(`telemetry.tracing`)."""
