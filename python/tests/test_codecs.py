"""Codec round trips, byte compatibility with NumPy's NPY/NPZ, images, and error messages."""
import io
import zipfile
from decimal import Decimal

import numpy as np
import pytest
from pyspark.sql.types import (BooleanType, ByteType, DecimalType, DoubleType, FloatType, IntegerType, LongType,
                               ShortType, StringType)

from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.errors import DecodeFieldError
from petastorm.unischema import UnischemaField

# What the binding converts: dtype strings (numeric, bool, str, bytes), shapes (0-d, empty, open
# dimensions), bytes/bytearray cells and writable decoded arrays. Every dtype and shape class is
# checked in Rust (native/tests/schema_cell.rs, codec_npy.rs, codec_numpy_interop.rs).
BINDING_VALUES = [
    (np.arange(6, dtype=np.float16).reshape(2, 3), (2, None)),
    (np.arange(24, dtype=np.uint64).reshape(4, 3, 2) * (2 ** 60), (None, 3, None)),
    (np.array(['', 'ab', 'ünï', 'longer string']), (None,)),
    (np.array([b'', b'x', b'\x00yz', b'bytes!']), (4,)),
    (np.array(True), ()),
    (np.zeros((0, 3), dtype=np.int8), (None, 3)),
]


@pytest.mark.parametrize('codec', [NdarrayCodec(), CompressedNdarrayCodec()], ids=repr)
def test_array_values_convert_both_ways(codec):
    for value, field_shape in BINDING_VALUES:
        field = UnischemaField('arr', value.dtype.type, field_shape, codec, False)
        encoded = codec.encode(field, value)
        assert isinstance(encoded, bytearray)
        decoded = codec.decode(field, encoded)
        assert isinstance(decoded, np.ndarray)
        assert decoded.dtype == value.dtype and decoded.shape == value.shape, value.dtype
        np.testing.assert_array_equal(decoded, value)
        decoded[...] = decoded  # writable
        np.testing.assert_array_equal(codec.decode(field, bytes(encoded)), value)


def _np_save(value):
    buf = io.BytesIO()
    np.save(buf, value)
    return buf.getvalue()


# The layouts the binding hands over as they are (byte order, Fortran order) or copies (strided);
# NumPy interoperation of every dtype is checked in Rust (native/tests/codec_numpy_interop.rs).
@pytest.mark.parametrize('value', [
    np.arange(6, dtype='>i4').reshape(2, 3),
    np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
    np.asfortranarray(np.arange(12, dtype='>u2').reshape(3, 4)),
    np.arange(40, dtype=np.int16).reshape(5, 8)[::2, 1::3],
    np.array(['a', 'bcd', 'éf'], dtype=np.str_),
    np.array(7, dtype=np.int64),
], ids=lambda v: '{}{}{}'.format(v.dtype.str, v.shape, 'F' if not v.flags.c_contiguous else ''))
def test_npy_bytes_equal_numpy_save(value):
    field = UnischemaField('v', value.dtype.type, (None,) * value.ndim, NdarrayCodec(), False)
    assert bytes(NdarrayCodec().encode(field, value)) == _np_save(value)
    np.testing.assert_array_equal(NdarrayCodec().decode(field, _np_save(value)), value)


def test_npz_bytes_load_with_numpy_and_numpy_npz_decodes():
    field = UnischemaField('emb', np.float32, (None, 4), CompressedNdarrayCodec(), False)
    value = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    encoded = CompressedNdarrayCodec().encode(field, value)
    with zipfile.ZipFile(io.BytesIO(bytes(encoded))) as zf:
        assert zf.namelist() == ['arr.npy']
        assert zf.getinfo('arr.npy').compress_type == zipfile.ZIP_DEFLATED
    np.testing.assert_array_equal(np.load(io.BytesIO(bytes(encoded)))['arr'], value)
    buf = io.BytesIO()
    np.savez_compressed(buf, arr=value)
    np.testing.assert_array_equal(CompressedNdarrayCodec().decode(field, buf.getvalue()), value)


@pytest.mark.parametrize('dtype', [np.uint8, np.uint16])
@pytest.mark.parametrize('shape', [(20, 30), (20, 30, 3)], ids=['gray', 'rgb'])
def test_png_round_trip_is_exact(dtype, shape):
    codec = CompressedImageCodec('png')
    field = UnischemaField('img', dtype, (None, None) + shape[2:], codec, False)
    value = np.random.default_rng(2).integers(0, np.iinfo(dtype).max, size=shape, dtype=dtype, endpoint=True)
    encoded = codec.encode(field, value)
    assert bytes(encoded[:8]) == b'\x89PNG\r\n\x1a\n'
    decoded = codec.decode(field, encoded)
    assert decoded.dtype == dtype
    np.testing.assert_array_equal(decoded, value)


def _smooth_image(shape):
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    base = 127 + 60 * np.sin(x / 9.0) + 60 * np.cos(y / 13.0)
    if len(shape) == 3:
        base = np.stack([base, base[::-1], 255 - base], axis=-1)
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('shape', [(64, 80), (64, 80, 3)], ids=['gray', 'rgb'])
def test_jpeg_quality_and_round_trip(shape):
    value = _smooth_image(shape)
    field = UnischemaField('img', np.uint8, shape, CompressedImageCodec('jpeg'), False)
    low = CompressedImageCodec('jpeg', 30).encode(field, value)
    high = CompressedImageCodec('jpeg', 95).encode(field, value)
    assert bytes(high[:2]) == b'\xff\xd8'
    assert len(low) < len(high)
    decoded = CompressedImageCodec('jpeg', 95).decode(field, high)
    assert decoded.shape == value.shape and decoded.dtype == np.uint8
    diff = np.abs(decoded.astype(np.int16) - value.astype(np.int16))
    assert diff.mean() < 2.0 and diff.max() <= 24


@pytest.mark.parametrize('shape', [(64, 80), (37, 29, 3), (224, 224, 3)], ids=['gray', 'rgb-odd', 'rgb-224'])
def test_jpeg_bytes_are_libjpegs_as_pillow_and_opencv_write_them(shape):
    # Pillow and OpenCV (upstream's encoder) both write baseline 4:2:0 JPEG through libjpeg(-turbo) at
    # the IJG quality scale: the same quality must give the same file, and Pillow decodes it to our pixels.
    from PIL import Image
    value = np.clip(_smooth_image(shape) + np.random.default_rng(1).normal(0, 8, shape), 0, 255).astype(np.uint8)
    field = UnischemaField('img', np.uint8, shape, CompressedImageCodec('jpeg'), False)
    for quality in (10, 50, 90, 95, 100):
        ours = bytes(CompressedImageCodec('jpeg', quality).encode(field, value))
        pil = io.BytesIO()
        Image.fromarray(value).save(pil, 'JPEG', quality=quality)
        assert ours == pil.getvalue(), f'quality {quality}'
        np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(ours))),
                                      CompressedImageCodec('jpeg', quality).decode(field, ours))


@pytest.mark.parametrize('spark_type, numpy_type', [
    (ShortType(), np.uint8), (ByteType(), np.int8), (ShortType(), np.int16), (IntegerType(), np.int32),
    (LongType(), np.int64)])
def test_scalar_integers(spark_type, numpy_type):
    codec = ScalarCodec(spark_type)
    field = UnischemaField('n', numpy_type, (), codec, False)
    info = np.iinfo(numpy_type)
    for v in (numpy_type(info.min), numpy_type(info.max), int(info.max)):
        encoded = codec.encode(field, v)
        assert type(encoded) is int
        decoded = codec.decode(field, encoded)
        assert decoded == v and type(decoded) is numpy_type


def test_scalar_conversions():
    def enc(spark_type, dtype, value):
        return ScalarCodec(spark_type).encode(UnischemaField('s', dtype, (), ScalarCodec(spark_type)), value)
    assert type(enc(FloatType(), np.float32, np.float64(0.5))) is float
    assert type(enc(DoubleType(), np.float64, 3)) is float
    assert enc(BooleanType(), np.bool_, np.bool_(True)) is True
    assert enc(StringType(), np.str_, 'surprise') == 'surprise'
    assert enc(StringType(), np.str_, np.str_('x')) == 'x'
    assert enc(IntegerType(), np.int32, np.array(42, dtype=np.int32)) == 42
    assert enc(DecimalType(10, 4), Decimal, Decimal('123.4567')) == Decimal('123.4567')
    field = UnischemaField('d', Decimal, (), ScalarCodec(DecimalType(10, 4)))
    assert ScalarCodec(DecimalType(10, 4)).decode(field, Decimal('1.5')) == Decimal('1.5')
    sfield = UnischemaField('s', np.str_, (), ScalarCodec(StringType()))
    assert ScalarCodec(StringType()).decode(sfield, 'abc') == 'abc'


@pytest.mark.parametrize('value', [[1.2], np.asarray([3.4]), [5, 6]], ids=str)
def test_scalar_rejects_non_scalars_naming_the_field(value):
    field = UnischemaField('field_float', np.float32, (), ScalarCodec(FloatType()), False)
    with pytest.raises(TypeError, match='field_float'):
        ScalarCodec(FloatType()).encode(field, value)


def test_scalar_string_column_requires_a_string():
    field = UnischemaField('label', np.str_, (), ScalarCodec(StringType()), False)
    with pytest.raises(ValueError, match='label'):
        ScalarCodec(StringType()).encode(field, 17)


@pytest.mark.parametrize('codec', [NdarrayCodec(), CompressedNdarrayCodec(), CompressedImageCodec('png')], ids=repr)
def test_array_codec_errors_name_the_field(codec):
    field = UnischemaField('my_matrix', np.uint8, (4, 5), codec, False)
    with pytest.raises(ValueError, match='my_matrix'):
        codec.encode(field, np.zeros((4, 5), dtype=np.float32))  # wrong dtype
    with pytest.raises(ValueError, match='my_matrix'):
        codec.encode(field, np.zeros((4, 6), dtype=np.uint8))  # non-compliant shape
    with pytest.raises(ValueError, match='my_matrix'):
        codec.encode(field, np.zeros((4, 5, 1), dtype=np.uint8))  # wrong rank
    with pytest.raises((ValueError, TypeError), match='my_matrix'):
        codec.encode(field, [[0] * 5] * 4)  # not an ndarray
    with pytest.raises(TypeError, match='my_matrix'):
        codec.encode(field, np.empty((4, 5), dtype=object))


def test_image_codec_rejects_unsupported_image_shapes():
    codec = CompressedImageCodec('png')
    field = UnischemaField('rgba', np.uint8, (4, 4, 4), codec, False)
    with pytest.raises(ValueError, match='rgba'):
        codec.encode(field, np.zeros((4, 4, 4), dtype=np.uint8))


@pytest.mark.parametrize('codec', [NdarrayCodec(), CompressedNdarrayCodec(), CompressedImageCodec('png'),
                                   CompressedImageCodec('jpeg')], ids=repr)
def test_corrupt_cells_raise_decode_field_error(codec):
    field = UnischemaField('broken_cell', np.uint8, (None, None), codec, False)
    good = codec.encode(field, np.full((6, 7), 9, dtype=np.uint8))
    for bad in (b'', b'garbage bytes', bytes(good[:len(good) // 2])):
        with pytest.raises(DecodeFieldError, match='broken_cell'):
            codec.decode(field, bad)


def test_decode_checks_the_declared_shape_and_dtype():
    png = CompressedImageCodec('png')
    small = UnischemaField('img', np.uint8, (8, 8), png, False)
    encoded = png.encode(small, np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(DecodeFieldError, match='img'):
        png.decode(small._replace(shape=(16, 16)), encoded)
    npy = NdarrayCodec()
    field = UnischemaField('m', np.float32, (None,), npy, False)
    with pytest.raises(DecodeFieldError, match="'m'"):
        npy.decode(field, _np_save(np.zeros(3, dtype=np.int64)))


@pytest.mark.parametrize('codec', [NdarrayCodec(), CompressedImageCodec('png'), ScalarCodec(IntegerType())], ids=repr)
def test_decoding_none_is_a_type_error_naming_the_field(codec):
    field = UnischemaField('null_cell', np.uint8, () if isinstance(codec, ScalarCodec) else (2, 2), codec, True)
    with pytest.raises(TypeError, match="field 'null_cell'.*got None"):
        codec.decode(field, None)
