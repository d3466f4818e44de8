"""The gateway Django app: views, filters, the live-feed hub and the daemon."""
