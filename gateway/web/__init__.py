"""Django views, the REST API and their limits."""
