"""Dataset converters to the project's TFRecord format, and synthetic faces.

Converters (each also a program, ``python -m data_tools.convert_X --help``):
:mod:`~data_tools.convert_300w` (``.pts`` folders), :mod:`~data_tools.convert_wflw`,
:mod:`~data_tools.convert_cofw`, :mod:`~data_tools.convert_lsp` and
:mod:`~data_tools.convert_generic` (CSV, JSON, COCO keypoints, dlib XML). Each turns its format
into :mod:`~data_tools.items` (records or skips) and writes them through
:class:`~data_tools.writing.OutputSpec`; :mod:`~data_tools.cli` holds their shared flags.

What they share: :mod:`~data_tools.images` (reading and checking image bytes),
:mod:`~data_tools.boxes`, :mod:`~data_tools.matlab`, :mod:`~data_tools.validation` (the checks
before writing), :mod:`~data_tools.splits`, :mod:`~data_tools.writing` and
:mod:`~data_tools.records` (Examples and sharded TFRecord files).

:mod:`data_tools.synthetic`: procedural faces with exact landmarks
(``python -m data_tools.synthetic --help``).
"""
