"""Long sources in chunks: plan, split, encode each chunk, encode the audio, stitch.

A source over the threshold is cut into chunks on output keyframes (``plan``), split into
parts by stream copy so each chunk reads only about its share (``split``), each chunk
encodes the whole ladder for its range with the pipeline's own filter graph and codec
options (``chunk_encode``), the audio is encoded once for the whole source (``audio``),
and the stitch joins each quality's chunks by stream copy, adds the audio and packages,
previews and describes the result exactly as an unchunked transcode does (``stitch``).
"""
