"""Django project configuration: settings from the environment, the ASGI router."""
