"""Runs dlib's HOG face detector and 68-point shape predictor for ``bench/dlib_reference.py``.

Executed by the interpreter of a separate environment that has ``dlib-bin`` and
``face-recognition-models`` (never a dependency of this project); it imports nothing from
the project. Reads a JSON request on stdin, writes a JSON answer on stdout::

    {"task": "detect", "images": [path, ...], "upsample": 1}
        -> {"boxes": [[[x1, y1, x2, y2], ...], ...]}          one list per image
    {"task": "predict", "faces": [{"image": path, "box": [x1, y1, x2, y2]}, ...]}
        -> {"landmarks": [[[x, y] * 68], ...]}                 one per face
"""

from __future__ import annotations

import json
import sys


def _load(path: str):
    import dlib

    return dlib.load_rgb_image(path)


def detect(images: list[str], upsample: int) -> list[list[list[float]]]:
    import dlib

    detector = dlib.get_frontal_face_detector()
    found = []
    for path in images:
        rects = detector(_load(path), upsample)
        found.append([[r.left(), r.top(), r.right(), r.bottom()] for r in rects])
    return found


def predict(faces: list[dict]) -> list[list[list[float]]]:
    import dlib
    import face_recognition_models

    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_model_location())
    out = []
    cache: dict[str, object] = {}
    for face in faces:
        image = cache.setdefault(face["image"], _load(face["image"]))
        x1, y1, x2, y2 = (int(round(v)) for v in face["box"])
        shape = predictor(image, dlib.rectangle(x1, y1, x2, y2))
        out.append([[float(shape.part(i).x), float(shape.part(i).y)]
                    for i in range(shape.num_parts)])
    return out


def main() -> int:
    request = json.load(sys.stdin)
    if request["task"] == "detect":
        answer = {"boxes": detect(request["images"], int(request.get("upsample", 1)))}
    elif request["task"] == "predict":
        answer = {"landmarks": predict(request["faces"])}
    else:
        print(f"unknown task {request['task']!r}", file=sys.stderr)
        return 2
    json.dump(answer, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
