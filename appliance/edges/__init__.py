"""The outside world, each behind one small module. Must not import storage, content, services or web."""
