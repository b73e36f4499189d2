"""``python -m awing_tf.train``: the ``awing-train`` command (``awing_tf.cli.train``)."""

from awing_tf.cli.train import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    run()
