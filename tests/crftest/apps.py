from django.apps import AppConfig


class CrfTestConfig(AppConfig):
    """A two-form CRF used only by the tests of the CRF machinery."""

    name = "tests.crftest"
    label = "crftest"

    def ready(self) -> None:
        from tests.crftest import forms  # noqa: F401  (registers XX and XL)
