"""Media adapters for video: speech, camera moves over a still, and the final cut."""
