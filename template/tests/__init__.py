"""The tests that prove this service's session pattern behaves."""
