"""stream_w2v: word2vec for text that never ends."""
from stream_w2v._native import kernel_info
from stream_w2v.keyedvectors import KeyedVectors
from stream_w2v.model import StreamingWord2Vec

__all__ = ["KeyedVectors", "StreamingWord2Vec", "kernel_info"]
__version__ = "0.1.0"
