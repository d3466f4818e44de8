"""Wire protocols, with no knowledge of Django, Channels or Prometheus (an import-linter contract)."""
