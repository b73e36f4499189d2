"""``python -m awing_tf.evaluate``: the ``awing-evaluate`` command (``awing_tf.cli.evaluate``)."""

from awing_tf.cli.evaluate import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    run()
