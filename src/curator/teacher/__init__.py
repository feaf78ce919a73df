"""Generation: task families (prompts/), the teacher client, durable jobs, batches, procedural generators."""
