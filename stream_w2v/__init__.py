"""stream_w2v: word2vec for text that never ends."""
from stream_w2v._native import kernel_info

__all__ = ["kernel_info"]
__version__ = "0.1.0"
