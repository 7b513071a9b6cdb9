"""The documents tests use the shared converter fixtures of tests/conftest.py
(`converter_pool`, `app_pool`)."""
