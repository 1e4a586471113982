"""mer_tf.faces."""
