"""Helpers for the model store tests (a loopback HTTP server, generated wheels and archives)."""
