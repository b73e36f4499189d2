"""``python -m awing_tf.predict``: the ``awing-predict`` command (``awing_tf.cli.predict``)."""

from awing_tf.cli.predict import main, run

__all__ = ["main", "run"]

if __name__ == "__main__":
    run()
