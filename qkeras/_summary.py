# Copyright 2026 The qkeras Authors. Licensed under the Apache License 2.0.
"""TensorBoard scalar summaries without TensorFlow.

``QNoiseScheduler(log_dir=...)`` records its factor for TensorBoard on every
Keras backend, so it cannot call ``tf.summary``. This module writes the same
event file ``tf.summary.scalar`` writes: TFRecord framing (length, masked
CRC-32C of the length, data, masked CRC-32C of the data) around ``Event``
protocol buffers, the first one carrying ``file_version = "brain.Event:2"``
and each scalar one a ``Summary.Value`` with a float tensor and the
"scalars" plugin metadata. The few protobuf fields are encoded by hand.
"""

import os
import socket
import struct
import time

_FILE_VERSION = b"brain.Event:2"
_DT_FLOAT = 1


def _crc32c_table():
  table = []
  for byte in range(256):
    crc = byte
    for _ in range(8):
      crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    table.append(crc)
  return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
  """CRC-32C (Castagnoli) of ``data`` (bytes)."""
  crc = 0xFFFFFFFF
  for byte in data:
    crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
  return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
  """TFRecord's masked CRC: ``rotate_right(crc, 15) + 0xa282ead8``."""
  crc = crc32c(data)
  return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value):
  out = bytearray()
  value &= (1 << 64) - 1  # int64 fields: two's complement
  while True:
    byte = value & 0x7F
    value >>= 7
    if value:
      out.append(byte | 0x80)
    else:
      out.append(byte)
      return bytes(out)


def _field(number, wire_type, payload):
  """One protobuf field: key, then the payload (length-prefixed for type 2)."""
  key = _varint(number << 3 | wire_type)
  if wire_type == 2:
    return key + _varint(len(payload)) + payload
  return key + payload


def _event(wall_time, step, file_version=None, summary=None):
  data = _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0,
                                                             _varint(step))
  if file_version is not None:
    data += _field(3, 2, file_version)
  if summary is not None:
    data += _field(5, 2, summary)
  return data


def _scalar_summary(tag, value):
  """``Summary{value: [Value{tag, tensor: float scalar, metadata}]}``."""
  plugin_data = _field(1, 2, b"scalars")
  metadata = _field(1, 2, plugin_data)
  tensor = (_field(1, 0, _varint(_DT_FLOAT)) + _field(2, 2, b"") +
            _field(5, 2, struct.pack("<f", value)))
  summary_value = (_field(1, 2, tag.encode("utf-8")) + _field(8, 2, tensor) +
                   _field(9, 2, metadata))
  return _field(1, 2, summary_value)


def _record(data):
  length = struct.pack("<Q", len(data))
  return (length + struct.pack("<I", masked_crc32c(length)) + data +
          struct.pack("<I", masked_crc32c(data)))


class ScalarWriter:
  """Appends scalar summaries to a new TensorBoard event file in ``log_dir``.

  The file (``events.out.tfevents.<time>.<host>.<pid>.<n>.v2``, TensorFlow's
  naming) is created at the first ``scalar`` call.
  """

  _count = 0

  def __init__(self, log_dir):
    self.log_dir = str(log_dir)
    self.path = None
    self._file = None

  def _open(self):
    os.makedirs(self.log_dir, exist_ok=True)
    ScalarWriter._count += 1
    name = "events.out.tfevents.%010d.%s.%d.%d.v2" % (
        int(time.time()), socket.gethostname(), os.getpid(),
        ScalarWriter._count)
    self.path = os.path.join(self.log_dir, name)
    self._file = open(self.path, "ab")  # pylint: disable=consider-using-with
    self._file.write(_record(_event(time.time(), 0,
                                    file_version=_FILE_VERSION)))

  def scalar(self, tag, value, step):
    """Writes ``value`` (a float) under ``tag`` at ``step`` (an int)."""
    if self._file is None:
      self._open()
    self._file.write(_record(_event(time.time(), int(step),
                                    summary=_scalar_summary(tag,
                                                            float(value)))))

  def flush(self):
    if self._file is not None:
      self._file.flush()

  def close(self):
    if self._file is not None:
      self._file.close()
      self._file = None
