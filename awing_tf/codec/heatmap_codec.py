"""HeatmapCodec: landmarks <-> the network's heatmap tensors, for one HeatmapSpec.

Everything is pure TensorFlow, so the codec runs inside ``tf.data``, inside a training step
and inside a SavedModel.
"""

from __future__ import annotations

import tensorflow as tf

from awing_tf.codec import coordinates
from awing_tf.codec.boundary import boundary_heatmap
from awing_tf.codec.decode import decode_heatmaps
from awing_tf.codec.gaussian import gaussian_heatmaps
from awing_tf.config import Config, HeatmapSpec


def _flatten_leading(landmarks: tf.Tensor, visible: tf.Tensor | None
                     ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``(..., K, 2)`` -> ``(N, K, 2)``, visible ``(N, K)`` (ones if None), leading shape."""
    lm = tf.convert_to_tensor(landmarks, tf.float32)
    lead = tf.shape(lm)[:-2]
    k = tf.shape(lm)[-2]
    vis = tf.ones(tf.shape(lm)[:-1]) if visible is None else tf.cast(visible, tf.float32)
    return tf.reshape(lm, [-1, k, 2]), tf.reshape(vis, [-1, k]), lead


def _restore_leading(maps: tf.Tensor, lead: tf.Tensor) -> tf.Tensor:
    return tf.reshape(maps, tf.concat([lead, tf.shape(maps)[1:]], 0))


class HeatmapCodec:
    """Encodes landmarks as heatmaps and decodes heatmaps back to landmarks.

    Landmarks are ``(x, y)`` in input pixels (pixel centres at integers); heatmaps are
    ``(..., h, w, C)`` with C = K landmark channels, plus the boundary channel last when
    ``spec.use_boundary``. Encode then decode returns the landmarks to < 0.1 heatmap px
    (``subpixel``) or <= 0.25 px (``quarter_offset``).

    Args:
      spec: the geometry (scheme, input size, heatmap size, boundary channel).
      sigma: landmark Gaussian sigma in heatmap pixels (paper setting 1.5 here).
      boundary_sigma: boundary line sigma in heatmap pixels (authors: 1).
    """

    def __init__(self, spec: HeatmapSpec, *, sigma: float = 1.5, boundary_sigma: float = 1.0):
        if not isinstance(spec, HeatmapSpec):
            raise TypeError(f"spec must be a HeatmapSpec, got {type(spec).__name__}")
        for name, value in (("sigma", sigma), ("boundary_sigma", boundary_sigma)):
            if not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name} must be a number > 0, got {value!r}")
        self.spec = spec
        self.sigma = float(sigma)
        self.boundary_sigma = float(boundary_sigma)
        self._scheme = spec.landmark_scheme

    @classmethod
    def for_config(cls, config: Config) -> HeatmapCodec:
        """The codec of a run: ``config.spec`` with ``config.data``'s sigmas."""
        return cls(config.spec, sigma=config.data.sigma,
                   boundary_sigma=config.data.boundary_sigma)

    def __repr__(self) -> str:
        return (f"HeatmapCodec({self.spec!r}, sigma={self.sigma}, "
                f"boundary_sigma={self.boundary_sigma})")

    # === Coordinates ===

    def to_heatmap_coords(self, xy: tf.Tensor) -> tf.Tensor:
        """Input pixels ``(..., 2)`` -> heatmap pixels ``(..., 2)``."""
        return coordinates.to_heatmap_coords(xy, input_size=self.spec.input_size,
                                             heatmap_size=self.spec.heatmap_size)

    def to_input_coords(self, xy_h: tf.Tensor) -> tf.Tensor:
        """Heatmap pixels ``(..., 2)`` -> input pixels ``(..., 2)``."""
        return coordinates.to_input_coords(xy_h, input_size=self.spec.input_size,
                                           heatmap_size=self.spec.heatmap_size)

    # === Encode ===

    def encode(self, landmarks: tf.Tensor, visible: tf.Tensor | None = None) -> tf.Tensor:
        """Training target: ``landmarks (..., K, 2)`` input pixels, optional ``visible
        (..., K)`` -> ``(..., h, w, C)`` float32, the boundary channel last."""
        hm = self.encode_landmarks(landmarks, visible)
        if not self.spec.use_boundary:
            return hm
        return tf.concat([hm, self.encode_boundary(landmarks, visible)], axis=-1)

    def encode_landmarks(self, landmarks: tf.Tensor, visible: tf.Tensor | None = None
                         ) -> tf.Tensor:
        """Gaussian heatmaps around the exact sub-pixel landmarks: ``(..., h, w, K)``;
        channels with ``visible == 0`` stay empty."""
        lm, vis, lead = _flatten_leading(landmarks, visible)
        hm = gaussian_heatmaps(self.to_heatmap_coords(lm), vis, size=self.spec.heatmap_size,
                               sigma=self.sigma)
        return _restore_leading(hm, lead)

    def encode_boundary(self, landmarks: tf.Tensor, visible: tf.Tensor | None = None
                        ) -> tf.Tensor:
        """The boundary channel of the scheme's curves: ``(..., h, w, 1)`` in [0, 1]."""
        lm, vis, lead = _flatten_leading(landmarks, visible)
        b = boundary_heatmap(self.to_heatmap_coords(lm), vis,
                             self._scheme.boundary_segments(), size=self.spec.heatmap_size,
                             sigma=self.boundary_sigma)
        return _restore_leading(b, lead)

    # === Decode ===

    def landmark_channels(self, heatmaps: tf.Tensor) -> tf.Tensor:
        """``(..., h, w, C)`` -> the K landmark channels ``(..., h, w, K)``."""
        return heatmaps[..., : self.spec.num_landmarks]

    def decode(self, heatmaps: tf.Tensor, method: str = "quarter_offset"
               ) -> tuple[tf.Tensor, tf.Tensor]:
        """``heatmaps (B, h, w, K [+1])`` -> ``(landmarks (B, K, 2) input pixels, peak
        scores (B, K))``; a boundary channel, if present, is ignored. ``method``:
        ``quarter_offset`` (the paper's) or ``subpixel``."""
        points, scores = decode_heatmaps(self.landmark_channels(heatmaps), method)
        return self.to_input_coords(points), scores
