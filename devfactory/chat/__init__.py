"""The Chainlit chat: a thin client of the same graph, checkpointer and memory."""
