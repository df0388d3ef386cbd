"""Kernel-side engines: pure PyTorch, no widget imports."""
