"""Keras -> TFLite export, QAT and the float-vs-quantized report (needs TensorFlow)."""
