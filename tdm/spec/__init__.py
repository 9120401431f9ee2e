"""The dataset spec: its pydantic model, reading YAML safely with line numbers, and the checks
that need nothing but the spec."""
