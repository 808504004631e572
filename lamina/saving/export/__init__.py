"""Export to ONNX and torch.export programs, each verified against the model (issue #12)."""
