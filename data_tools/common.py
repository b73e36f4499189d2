"""The converter toolkit under one name: items and skips, images, boxes, validation, splits
and writing, each defined in its own module of ``data_tools`` (the shared command-line flags
are in :mod:`data_tools.cli`)."""

from awing_tf.files import IMAGE_EXTENSIONS
from data_tools.boxes import enlarge_box, tight_box
from data_tools.images import array_to_png, decode_image, encode_png, load_image, load_image_bytes
from data_tools.items import Item, Skipped, SkipRecord, attempt, limited
from data_tools.matlab import load_matlab_v5
from data_tools.splits import group_of, parse_split, split_of, split_prefix
from data_tools.validation import validate_record
from data_tools.writing import ConversionSummary, write_items

__all__ = [
    "IMAGE_EXTENSIONS",
    "ConversionSummary",
    "Item",
    "SkipRecord",
    "Skipped",
    "array_to_png",
    "attempt",
    "decode_image",
    "encode_png",
    "enlarge_box",
    "group_of",
    "limited",
    "load_image",
    "load_image_bytes",
    "load_matlab_v5",
    "parse_split",
    "split_of",
    "split_prefix",
    "tight_box",
    "validate_record",
    "write_items",
]
