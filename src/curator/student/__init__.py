"""The student: the curator's own fine-tuned model, served where they trained it, asked the private
eval set's questions (`curator eval run`)."""
