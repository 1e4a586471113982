"""The device runtime: LiteRT, NumPy, OpenCV and the TensorFlow-free core of mer_tf only."""
