from django.apps import AppConfig


class GatewayConfig(AppConfig):
    name = "gateway"
    verbose_name = "APRS gateway"

    def ready(self):
        from gateway.web import throttle  # noqa: F401  (its signal receiver clears an account's count on login)
