"""The use cases, called only by web/ and jobs.py."""
