"""Channel-planar RGB images (reader option ``planar_images``): rows handed to a make_reader
``TransformSpec.func`` are views of (3, H, W) planes with upstream's strides (W, 1, H*W) and the same
values as the contiguous rows of any other reader; make_batch_reader and readers without a transform
keep C-contiguous (H, W, 3) images."""
import numpy as np
import pyarrow as pa
import pytest

from _reader_helpers import time_limit, url_of, write_dataset  # noqa: F401
from petastorm import _arrow, _native, make_batch_reader, make_reader
from petastorm.codecs import CompressedImageCodec, NdarrayCodec, ScalarCodec
from petastorm.transform import TransformSpec
from petastorm.unischema import Unischema, UnischemaField

H, W = 12, 20  # not square: swapped axes or strides show
ROWS = 30
Schema = Unischema('PlanarSchema', [
    UnischemaField('id', np.int64, (), ScalarCodec('long'), False),
    UnischemaField('png', np.uint8, (H, W, 3), CompressedImageCodec('png'), False),
    UnischemaField('jpeg', np.uint8, (H, W, 3), CompressedImageCodec('jpeg', 90), False),
    UnischemaField('deep', np.uint16, (H, W, 3), CompressedImageCodec('png'), False),
    UnischemaField('maybe', np.uint8, (H, W, 3), CompressedImageCodec('png'), True),
    UnischemaField('gray', np.uint8, (H, W), CompressedImageCodec('png'), False),
    UnischemaField('open', np.uint8, (None, None, 3), CompressedImageCodec('png'), False),
    UnischemaField('tensor', np.uint8, (H, W, 3), NdarrayCodec(), False),
])
PLANAR = ('png', 'jpeg', 'deep', 'maybe')  # fixed (H, W, 3) images; the other arrays keep their layout
KEPT = ('gray', 'open', 'tensor')


def _row(i):
    rng = np.random.RandomState(i)
    return {'id': np.int64(i),
            'png': rng.randint(0, 255, (H, W, 3)).astype(np.uint8),
            'jpeg': rng.randint(0, 255, (H, W, 3)).astype(np.uint8),
            'deep': rng.randint(0, 65535, (H, W, 3)).astype(np.uint16),
            'maybe': None if i % 4 == 0 else rng.randint(0, 255, (H, W, 3)).astype(np.uint8),
            'gray': rng.randint(0, 255, (H, W)).astype(np.uint8),
            'open': rng.randint(0, 255, (3 + i % 3, 5, 3)).astype(np.uint8),
            'tensor': rng.randint(0, 255, (H, W, 3)).astype(np.uint8)}


@pytest.fixture(scope='module')
def url(tmp_path_factory):
    root = tmp_path_factory.mktemp('planar') / 'dataset'
    write_dataset(root, Schema, [_row(i) for i in range(ROWS)], rows_per_group=10, groups_per_file=2)
    return url_of(root)


def layouts(row):
    """The row with each array's strides and C-contiguity recorded (a picklable TransformSpec.func)."""
    for name in PLANAR + KEPT:
        value = row[name]
        row[name + '_layout'] = 'None' if value is None else repr((value.strides, value.flags.c_contiguous))
    return row


LAYOUTS = TransformSpec(layouts, edit_fields=[(n + '_layout', np.str_, (), False) for n in PLANAR + KEPT])


def _expected_layout(name, value):
    if value is None:
        return 'None'
    item = value.dtype.itemsize
    if name in PLANAR:  # upstream: cv2.imdecode(...)[:, :, (2, 1, 0)], a view of (3, H, W) planes
        return repr(((W * item, item, H * W * item), False))
    return repr((np.ascontiguousarray(value).strides, True))


def _rows(url, **kwargs):
    with make_reader(url, shuffle_row_groups=False, **kwargs) as reader:
        return sorted(reader, key=lambda r: int(r.id))


@pytest.mark.parametrize('pool', ['dummy', 'thread', 'process'])
def test_transform_rows_are_planar_views_with_the_values_of_contiguous_rows(url, pool):
    plain = _rows(url, workers_count=2)
    transformed = _rows(url, reader_pool_type=pool, workers_count=2, transform_spec=LAYOUTS)
    assert [int(r.id) for r in transformed] == list(range(ROWS))
    for before, after in zip(plain, transformed):
        for name in PLANAR + KEPT:
            value, seen = getattr(before, name), getattr(after, name)
            assert getattr(after, name + '_layout') == _expected_layout(name, value), (name, int(after.id))
            if value is None:
                assert seen is None
                continue
            assert value.flags.c_contiguous, 'no transform: contiguous rows ({})'.format(name)
            assert seen.dtype == value.dtype and seen.shape == value.shape
            np.testing.assert_array_equal(seen, value, err_msg=name)


def test_a_transform_without_func_and_the_batch_reader_keep_contiguous_images(url):
    for row in _rows(url, transform_spec=TransformSpec(removed_fields=['open'])):
        assert row.png.flags.c_contiguous and row.jpeg.flags.c_contiguous
    seen = []

    def frame_layouts(frame):
        seen.extend(cell.flags.c_contiguous for cell in frame['png'])
        return frame

    with make_batch_reader(url, shuffle_row_groups=False, transform_spec=TransformSpec(frame_layouts)) as reader:
        batches = list(reader)
    assert seen and all(seen)
    assert all(b.png.flags.c_contiguous and b.png.shape[1:] == (H, W, 3) for b in batches)
    expected = {int(r.id): r.png for r in _rows(url)}
    for batch in batches:
        for i, png in zip(batch.id, batch.png):
            np.testing.assert_array_equal(png, expected[int(i)])


def _batches(url, planar):
    handle = _native.ReaderHandle({'dataset_url': url, 'planar_images': planar, 'shuffle_row_groups': False})
    try:
        out = []
        while (batch := handle.next_batch()) is not None:
            out.append(batch)
        return out
    finally:
        handle.close()


def test_planar_columns_are_permuted_fixed_shape_tensors_that_batch_column_reads_as_hwc(url):
    plain, planar = _batches(url, False), _batches(url, True)
    for name in PLANAR:
        tensor = planar[0].schema.field(name).type
        assert isinstance(tensor, pa.FixedShapeTensorType)
        assert (tensor.shape, tensor.permutation) == ([3, H, W], [1, 2, 0])
        assert plain[0].schema.field(name).type.permutation is None
    for name in KEPT:
        assert planar[0].schema.field(name).type == plain[0].schema.field(name).type
    for before, after in zip(plain, planar):
        for name in PLANAR:
            dtype = Schema.fields[name].numpy_dtype
            if after.column(name).null_count:  # rows: None where null, else (H, W, 3) views of the planes
                rows = _arrow.rows_column(after.column(name), dtype)
                want = _arrow.rows_column(before.column(name), dtype)
                assert [r is None for r in rows] == [r is None for r in want] and any(r is None for r in rows)
                for row, expected in zip(rows, want):
                    if row is not None:
                        assert row.strides == (W, 1, H * W)
                        np.testing.assert_array_equal(row, expected)
                continue
            column = _arrow.batch_column(after.column(name), dtype)
            item = column.dtype.itemsize
            assert column.strides == (3 * H * W * item, W * item, item, H * W * item)
            np.testing.assert_array_equal(column, _arrow.batch_column(before.column(name), dtype))
            # the physical planes: channel c of every pixel, row-major
            planes = after.column(name).storage.values.to_numpy().reshape(len(after), 3, H, W)
            np.testing.assert_array_equal(planes.transpose(0, 2, 3, 1), column)


def test_planar_images_must_be_a_bool(url):
    with pytest.raises(ValueError, match=r'invalid reader option planar_images = 1: .*expected a boolean'):
        _native.ReaderHandle({'dataset_url': url, 'planar_images': 1})
