"""curator: turn a pile of Persian documents into a small, clean, leak-free SFT dataset."""

__version__ = "0.1.0"
