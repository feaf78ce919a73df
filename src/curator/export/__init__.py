"""Export: the training mix, the formats trainers expect, and a versioned, atomic, leak-checked folder."""
