"""The command-line programs; each is ``main(argv) -> exit code`` (``python -m genre_models.<name>``)."""
