"""Model aliases, providers and the embedded fallback model."""
