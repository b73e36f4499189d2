"""TFRecord framing checks in plain Python: which shard is broken, at which record and byte.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little endian) | uint32 masked crc32c(length bytes)
    | length bytes of data        | uint32 masked crc32c(data)

``scan_shard`` walks that framing: by default it reads only the 12-byte headers, checks the
length checksum and seeks past the data, which costs one small read per record; with
``verify_crc=True`` it also reads every record's data and checks its checksum (the record
inspector's full pass). ``check_shards`` scans a list of shards and raises one
:class:`RecordError` for the first bad one. No TensorFlow import.
"""

from __future__ import annotations

import dataclasses
import os
import struct

INSPECT_COMMAND = "python -m data_tools.inspect_records --records={path}"
_HEADER = 12  # uint64 length + uint32 length crc
_FOOTER = 4  # uint32 data crc
_MASK_DELTA = 0xA282EAD8


def _crc_table() -> tuple[int, ...]:
    """The 256-entry table of CRC-32C (Castagnoli, reflected polynomial 0x82F63B78)."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_TABLE = _crc_table()

try:  # the C implementation, when installed, for the full data pass
    import google_crc32c as _fast_crc  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the environment
    _fast_crc = None


def crc32c(data: bytes) -> int:
    """The CRC-32C of ``data`` (the C implementation when ``google_crc32c`` is installed)."""
    if _fast_crc is not None and len(data) > 64:
        return int(_fast_crc.value(data))
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C that TFRecord framing stores: ``rotr15(crc) + 0xa282ead8``."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


class RecordError(ValueError):
    """A shard or record that cannot be read, named: shard path, record index, byte offset
    (when known), what is wrong and the command that inspects the shard."""

    def __init__(self, path: str, record: int | None, reason: str,
                 offset: int | None = None, more: list[str] | None = None) -> None:
        self.path = path
        self.record = record
        self.offset = offset
        self.reason = reason
        self.more = list(more or [])
        where = f"record {record}" if record is not None else "unknown record"
        if offset is not None:
            where += f" (byte {offset:,})"
        message = (f"bad TFRecord shard {path}: {where}: {reason}. Inspect it with "
                   f"`{INSPECT_COMMAND.format(path=path)}`")
        if self.more:
            message += (f"; {len(self.more)} more bad shard(s): " + ", ".join(self.more[:5])
                        + (" ..." if len(self.more) > 5 else ""))
        super().__init__(message)


@dataclasses.dataclass
class ShardScan:
    """The framing of one shard: ``records`` complete, well-framed records before any error;
    ``error`` what is wrong (None for a good shard) at record ``error_record``, which starts
    at byte ``error_offset``."""

    path: str
    records: int
    error: str | None = None
    error_record: int | None = None
    error_offset: int | None = None

    def to_error(self) -> RecordError:
        """This scan's error as a :class:`RecordError` (only for a bad scan)."""
        if self.error is None:
            raise ValueError(f"{self.path}: the shard has no framing error")
        return RecordError(self.path, self.error_record, self.error, self.error_offset)


def _frame_error(index: int, offset: int, header: bytes, size: int, fh,
                 verify_crc: bool) -> tuple[str | None, int]:
    """What is wrong with the record starting at ``offset`` (None if nothing) and its end."""
    if len(header) < _HEADER:
        return (f"truncated: file ends inside the header of record {index} "
                f"(needs {_HEADER - len(header):,} more bytes)", offset)
    (length,) = struct.unpack("<Q", header[:8])
    (length_crc,) = struct.unpack("<I", header[8:])
    end = offset + _HEADER + length + _FOOTER
    if masked_crc32c(header[:8]) != length_crc:
        if index == 0:
            larger = ", larger than the file" if length > size else ""
            return (f"not a TFRecord file: record 0 length field says {length:,} bytes"
                    f"{larger}, and its checksum does not match", offset)
        return f"length checksum mismatch at record {index}", offset
    if end > size:
        return (f"truncated: file ends inside record {index} "
                f"(needs {end - size:,} more bytes)", offset)
    if verify_crc:
        data = fh.read(length)
        (data_crc,) = struct.unpack("<I", fh.read(_FOOTER))
        if masked_crc32c(data) != data_crc:
            return f"data checksum mismatch at record {index}", offset
    return None, end


def scan_shard(path: str, verify_crc: bool = False) -> ShardScan:
    """Walks the framing of the TFRecord file ``path``.

    Reads the 12-byte header of every record and checks its length checksum and that the
    record fits in the file; with ``verify_crc`` also reads the data and checks its checksum.
    An empty file is a valid shard of 0 records. Raises ``FileNotFoundError`` naming a
    missing file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"TFRecord shard {path} does not exist")
    size = os.path.getsize(path)
    index = offset = 0
    with open(path, "rb") as fh:
        while offset < size:
            fh.seek(offset)
            header = fh.read(_HEADER)
            error, end = _frame_error(index, offset, header, size, fh, verify_crc)
            if error is not None:
                return ShardScan(path, index, error, index, offset)
            index, offset = index + 1, end
    return ShardScan(path, index)


def check_shards(paths: list[str]) -> list[ShardScan]:
    """The framing scans of ``paths`` (header checks only, see :func:`scan_shard`).

    Raises :class:`RecordError` for the first bad shard, counting the other bad ones.
    """
    scans = [scan_shard(p) for p in paths]
    bad = [s for s in scans if s.error is not None]
    if bad:
        first = bad[0]
        raise RecordError(first.path, first.error_record, first.error, first.error_offset,
                          more=[s.path for s in bad[1:]])
    return scans
