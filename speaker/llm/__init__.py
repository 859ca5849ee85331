"""Language models that write the spoken replies."""
