"""Inference on photos: face boxes, crops, the model, and landmarks in photo pixels."""
