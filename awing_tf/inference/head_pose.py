"""Head pose (yaw, pitch, roll in degrees) from 68 landmarks, with NumPy and OpenCV only.

The 3D model is the synthetic generator's neutral canonical face
(``mean_face_300w68.json``, written by ``python -m data_tools.synthetic.mean_face``): plain
geometry, not fitted to any dataset. Its frame (x right, y down, z toward the viewer, one
unit = half the face width) is turned into a right-handed camera-style frame (z into the
head) with the nose tip (point 30) at the origin, and scaled to millimetres so that the eye
centres (the means of points 36-41 and 42-47) are ``EYE_DISTANCE_MM`` = 63 mm apart.

Camera: a pinhole with focal length ``focal_length`` pixels (default: the image width),
principal point at the image centre ``((W - 1) / 2, (H - 1) / 2)`` (pixel centres at integer
coordinates) and no distortion. ``cv2.solvePnP`` finds the rotation and translation (EPnP
start, then Levenberg-Marquardt refinement: ``SOLVEPNP_ITERATIVE`` with that start).

Angles (degrees), as seen in the image, and equal to the synthetic generator's
``Pose(yaw, pitch, roll)`` signs:

- ``yaw`` > 0: the face turns toward the image's right (the subject's left; the nose moves
  right in the image);
- ``pitch`` > 0: the face turns up (chin up, the nose moves up in the image);
- ``roll`` > 0: the face rotates clockwise in the image (the top of the head moves right).

With ``frame="view"`` (the default) the angles are relative to the line of sight from the
camera to the nose tip: a face looking straight at the camera has yaw = pitch = 0 wherever
it is in the picture (this is the generator's orthographic convention). ``frame="camera"``
gives them relative to the optical axis instead (a face near the image's edge that looks at
the camera then has a yaw or pitch of about ``atan(offset / focal_length)``).
The rotation is ``Rz(roll) @ Ry(-yaw) @ Rx(-pitch)`` in OpenCV's camera frame.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
from typing import NamedTuple

import cv2
import numpy as np

MEAN_FACE_FILE = pathlib.Path(__file__).with_name("mean_face_300w68.json")
EYE_DISTANCE_MM = 63.0
NOSE_TIP = 30
SUPPORTED_SCHEMES = ("300w68",)
FRAMES = ("view", "camera")


class HeadPose(NamedTuple):
    """One face's pose: angles in degrees (signs in the module docstring) and OpenCV's
    ``rotation_vector (3,)`` / ``translation_vector (3,)`` (mm, nose tip in the camera frame)
    with the ``camera_matrix (3, 3)`` they were solved with (for ``cv2.projectPoints``);
    ``reprojection_error``: RMS distance in pixels between the landmarks and the projected
    model."""

    yaw: float
    pitch: float
    roll: float
    rotation_vector: np.ndarray
    translation_vector: np.ndarray
    camera_matrix: np.ndarray
    reprojection_error: float


@functools.cache
def model_points(scheme: str = "300w68") -> np.ndarray:
    """(68, 3) float64 model points in millimetres: x right, y down, z into the head, the
    nose tip at the origin (read once from ``mean_face_300w68.json``)."""
    _check_scheme(scheme)
    doc = json.loads(MEAN_FACE_FILE.read_text())
    pts = np.asarray(doc["points"], np.float64) * np.array([1.0, 1.0, -1.0])
    eyes = np.linalg.norm(pts[36:42].mean(axis=0) - pts[42:48].mean(axis=0))
    pts = (pts - pts[NOSE_TIP]) * (EYE_DISTANCE_MM / eyes)
    pts.setflags(write=False)
    return pts


def camera_matrix(image_size: tuple[int, int], focal_length: float | None = None) -> np.ndarray:
    """(3, 3) pinhole intrinsics for an image of ``image_size`` (H, W): focal length
    ``focal_length`` pixels (default W), principal point at the image centre."""
    h, w = _image_size(image_size)
    f = float(w) if focal_length is None else float(focal_length)
    if not math.isfinite(f) or f <= 0:
        raise ValueError(f"focal_length must be a positive number of pixels, got {focal_length!r}")
    return np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])


def head_pose(landmarks: np.ndarray, image_size: tuple[int, int], scheme: str = "300w68",
              focal_length: float | None = None, frame: str = "view") -> HeadPose:
    """The head pose of one face from ``landmarks (68, 2)`` in image pixels of an image of
    ``image_size`` (H, W). ``frame``: ``"view"`` (angles relative to the line of sight) or
    ``"camera"`` (relative to the optical axis). Raises ValueError on another scheme, a wrong
    shape or non-finite (e.g. NaN) landmarks."""
    _check_scheme(scheme)
    if frame not in FRAMES:
        raise ValueError(f"frame must be one of {FRAMES}, got {frame!r}")
    obj = model_points(scheme)
    pts = np.asarray(landmarks, np.float64)
    if pts.shape != (len(obj), 2):
        raise ValueError(f"landmarks must have shape ({len(obj)}, 2) for scheme {scheme!r}, "
                         f"got {pts.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(pts), axis=1))
    if bad.size:
        raise ValueError(f"landmarks contain NaN or infinite coordinates at points "
                         f"{bad.tolist()}: the head pose needs all {len(obj)} points")
    cam = camera_matrix(image_size, focal_length)
    rvec, tvec = _solve(obj, pts, cam)
    rot = cv2.Rodrigues(rvec)[0]
    if frame == "view":
        rot = _line_of_sight(tvec).T @ rot
    yaw, pitch, roll = _angles(rot)
    proj = cv2.projectPoints(obj, rvec, tvec, cam, None)[0].reshape(-1, 2)
    rms = float(np.sqrt(np.mean(np.sum((proj - pts) ** 2, axis=1))))
    return HeadPose(yaw, pitch, roll, rvec.reshape(3), tvec.reshape(3), cam, rms)


def head_poses(landmarks: np.ndarray, image_size: tuple[int, int], scheme: str = "300w68",
               focal_length: float | None = None, frame: str = "view") -> np.ndarray:
    """``(N, 3)`` float64 [yaw, pitch, roll] degrees for ``landmarks (N, 68, 2)`` image pixels
    of images of ``image_size`` (H, W); see :func:`head_pose`."""
    pts = np.asarray(landmarks, np.float64)
    if pts.ndim != 3:
        raise ValueError(f"landmarks must have shape (N, K, 2), got {pts.shape}")
    out = np.zeros((len(pts), 3))
    for i, one in enumerate(pts):
        try:
            p = head_pose(one, image_size, scheme, focal_length, frame)
        except ValueError as e:
            raise ValueError(f"face {i}: {e}") from None
        out[i] = p.yaw, p.pitch, p.roll
    return out


def _check_scheme(scheme: str) -> None:
    if scheme not in SUPPORTED_SCHEMES:
        raise ValueError(f"head pose supports scheme(s) {SUPPORTED_SCHEMES}, got {scheme!r}")


def _image_size(image_size: tuple[int, int]) -> tuple[int, int]:
    """(H, W) as ints, checked."""
    try:
        h, w = (int(v) for v in image_size)
    except (TypeError, ValueError):
        raise ValueError(f"image_size must be (H, W), got {image_size!r}") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"image_size must be positive (H, W), got {image_size!r}")
    return h, w


def _solve(obj: np.ndarray, pts: np.ndarray, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rvec, tvec (3, 1): EPnP start, refined by the iterative (LM) solver; a frontal start
    in front of the camera when EPnP fails or lands behind it."""
    ok, rvec, tvec = cv2.solvePnP(obj, pts, cam, None, flags=cv2.SOLVEPNP_EPNP)
    if not ok or not np.all(np.isfinite(tvec)) or tvec[2, 0] <= 0:
        rvec, tvec = _frontal_start(obj, pts, cam)
    ok, rvec, tvec = cv2.solvePnP(obj, pts, cam, None, rvec.copy(), tvec.copy(), True,
                                  cv2.SOLVEPNP_ITERATIVE)
    if not ok or tvec[2, 0] <= 0:
        raise ValueError("cv2.solvePnP found no pose in front of the camera for these "
                         "landmarks")
    return rvec, tvec


def _frontal_start(obj: np.ndarray, pts: np.ndarray,
                   cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A frontal pose at the depth where the model's size matches the landmarks' spread."""
    f = cam[0, 0]
    spread_px = float(np.sqrt(np.sum(pts.var(axis=0)))) or 1.0
    spread_mm = float(np.sqrt(np.sum(obj[:, :2].var(axis=0))))
    z = f * spread_mm / spread_px
    nose = pts[NOSE_TIP]
    t = np.array([[(nose[0] - cam[0, 2]) * z / f], [(nose[1] - cam[1, 2]) * z / f], [z]])
    return np.zeros((3, 1)), t


def _line_of_sight(tvec: np.ndarray) -> np.ndarray:
    """(3, 3): the smallest rotation taking the optical axis (0, 0, 1) onto ``tvec``."""
    d = tvec.reshape(3) / np.linalg.norm(tvec)
    axis = np.cross([0.0, 0.0, 1.0], d)
    s = float(np.linalg.norm(axis))
    angle = math.atan2(s, float(d[2]))
    if s < 1e-12:
        return np.eye(3)
    return cv2.Rodrigues(axis / s * angle)[0]


def _angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) degrees of ``rot = Rz(roll) @ Ry(-yaw) @ Rx(-pitch)``."""
    beta = math.asin(float(np.clip(-rot[2, 0], -1.0, 1.0)))
    alpha = math.atan2(rot[2, 1], rot[2, 2])
    gamma = math.atan2(rot[1, 0], rot[0, 0])
    return -math.degrees(beta), -math.degrees(alpha), math.degrees(gamma)
