"""Training: the run loop, its datasets, compile settings, callbacks and distribution.

``train`` (``loop``) is the entry point; ``compile_for_training`` (``compile``) is what a
plain ``model.fit`` user needs.
"""

from awing_tf.training.compile import compile_for_training, learning_rate_schedule, make_loss

__all__ = ["compile_for_training", "learning_rate_schedule", "make_loss"]
