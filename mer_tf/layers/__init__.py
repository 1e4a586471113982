"""mer_tf.layers."""
