"""Loopback look-alikes of Microsoft Graph and HR systems, for tests, benchmarks and the CLI's embedded default."""
