"""The push fixtures of tests/delivery, for the delivery job's tests."""

from tests.delivery.conftest import service_account_key as service_account_key
