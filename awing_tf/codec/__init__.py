"""Heatmap codec: landmarks <-> Gaussian heatmaps and the boundary channel.

:class:`HeatmapCodec` is the interface; the modules beside it hold its parts: the coordinate
convention (``coordinates``), the landmark Gaussians (``gaussian``), the boundary channel
(``boundary``) and the peak decoding (``decode``).
"""

from awing_tf.codec.decode import decode_heatmaps
from awing_tf.codec.heatmap_codec import HeatmapCodec

__all__ = ["HeatmapCodec", "decode_heatmaps"]
