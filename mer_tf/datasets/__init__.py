"""mer_tf.datasets."""
