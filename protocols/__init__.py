"""Protocol servers that turn non-HTTP wire protocols into ASGI events."""
