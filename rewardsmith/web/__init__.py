"""The local ranking page, where a person orders an iteration's policy videos."""
