"""splicelab: will a binary still work when a shared library under it is swapped for another build?"""

__version__ = "0.1.0"
