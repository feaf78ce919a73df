"""Meaning: sentence embeddings of examples and what the gates compare with them."""
