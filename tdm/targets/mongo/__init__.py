"""The MongoDB target: staging collections renamed into place, embedded child documents."""
