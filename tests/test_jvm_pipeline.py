"""Scala and PySpark pipelines that encode inside the JVM (``petastorm.sql.functions``):

* the Scala example job ``petastorm.examples.ImageFolderJob`` in ``local-cluster[2,1,1024]`` (separate
  executor JVMs loading the ``.so`` from the jar) on a folder of PNGs, read back with ``make_reader``:
  every pixel equals the source image (RGB);
* its PySpark twin (``examples/jvm_image_folder.py``, through ``petastorm.jvm``) writes byte-identical
  cells, which are also ``dict_to_spark_row``'s;
* DataFrame columns (raw pixels, nested arrays, flat doubles) encoded in the JVM give the same cells as
  ``dict_to_spark_row`` of the same values, and decode back from PySpark.
"""
import base64
import json
import sys
import types
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from e2e import ROOT, run_scala_example, spark_submit
from jobs.jvm_columns import ROWS, ColumnsSchema, column_values

sys.path.insert(0, str(ROOT / 'examples'))  # jvm_image_folder, the PySpark example
IMAGE_SHAPE = (24, 32)


def source_images():
    """{file name: expected RGB array}: five RGB noise PNGs and one gray PNG (Spark reads it as
    one channel; the job stores it as RGB, replicated)."""
    rng = np.random.RandomState(0)
    images = {'rgb_{}.png'.format(k): rng.randint(0, 256, size=IMAGE_SHAPE + (3,)).astype(np.uint8)
              for k in range(5)}
    images['gray.png'] = rng.randint(0, 256, size=IMAGE_SHAPE).astype(np.uint8)
    return images


def as_rgb(image):
    return image if image.ndim == 3 else np.repeat(image[:, :, None], 3, axis=2)


def read_cells(path, key):
    files = sorted(p for p in Path(path).rglob('*.parquet') if not p.name.startswith(('_', '.')))
    return sorted((r for f in files for r in pq.read_table(f).to_pylist()), key=lambda r: r[key])


@pytest.fixture(scope='module')
def images_folder(tmp_path_factory):
    from petastorm.codecs import CompressedImageCodec
    from petastorm.unischema import UnischemaField
    folder = tmp_path_factory.mktemp('images')
    codec = CompressedImageCodec('png')
    for name, image in source_images().items():
        field = UnischemaField('image', np.uint8, image.shape, codec, False)
        (folder / name).write_bytes(bytes(codec.encode(field, image)))
    return folder


@pytest.fixture(scope='module')
def scala_images(images_folder, tmp_path_factory, examples_jar):
    out = tmp_path_factory.mktemp('scala') / 'images'
    run_scala_example('ImageFolderJob', images_folder, out.as_uri(), master='local-cluster[2,1,1024]')
    return out


@pytest.fixture(scope='module')
def pyspark_out(images_folder, tmp_path_factory, jar):
    out = tmp_path_factory.mktemp('pyspark')
    spark_submit('--jars', jar, ROOT / 'tests' / 'jobs' / 'jvm_columns.py', images_folder, out)
    return out


def test_scala_job_in_local_cluster_stores_every_pixel(scala_images):
    from petastorm import make_reader
    expected = source_images()
    seen = set()
    with make_reader(scala_images.as_uri(), shuffle_row_groups=False) as reader:
        for row in reader:
            name = row.path.rsplit('/', 1)[-1]
            assert row.image.shape == IMAGE_SHAPE + (3,) and row.image.dtype == np.uint8
            np.testing.assert_array_equal(row.image, as_rgb(expected[name]), err_msg=name)
            seen.add(name)
    assert seen == set(expected)
    meta = pq.read_metadata(scala_images / '_common_metadata').metadata
    assert json.loads(meta[b'dataset-toolkit.unischema.json.v1'])['name'] == 'ImageFolderSchema'


def test_pyspark_and_scala_write_the_same_cells_as_dict_to_spark_row(scala_images, pyspark_out):
    import jvm_image_folder
    from petastorm.unischema import dict_to_spark_row
    scala_rows, py_rows = read_cells(scala_images, 'path'), read_cells(pyspark_out / 'images_py', 'path')
    assert len(scala_rows) == len(source_images())
    assert scala_rows == py_rows
    schema = jvm_image_folder.image_folder_schema('png')
    expected = source_images()
    for row in scala_rows:
        image = as_rgb(expected[row['path'].rsplit('/', 1)[-1]])
        assert row['image'] == bytes(dict_to_spark_row(schema, {'path': row['path'], 'image': image}).image)


def test_jvm_columns_match_dict_to_spark_row(pyspark_out):
    jvm_rows, dict_rows = read_cells(pyspark_out / 'columns_jvm', 'id'), read_cells(pyspark_out / 'columns_dict', 'id')
    assert [r['id'] for r in jvm_rows] == list(range(ROWS))
    assert jvm_rows == dict_rows


def test_jvm_decode_from_pyspark(pyspark_out):
    rows = sorted(json.loads((pyspark_out / 'decoded.json').read_text()), key=lambda r: r['id'])
    assert [r['id'] for r in rows] == list(range(ROWS))
    for r in rows:
        v = column_values(r['id'])
        assert r['shape'] == list(v['other_data'].shape)
        assert r['other'] == v['other_data'].ravel().tolist()
        assert r['matrix'] == v['matrix'].astype(np.float32).ravel().tolist()
        image = r['image']
        assert (image['height'], image['width'], image['nChannels'], image['mode']) == (8, 16, 3, 16)
        bgr = np.frombuffer(base64.b64decode(image['data']), np.uint8).reshape(8, 16, 3)
        np.testing.assert_array_equal(bgr[:, :, ::-1], v['image1'])


def test_missing_jar_is_a_clear_error():
    from py4j.java_gateway import JavaPackage

    from petastorm import jvm
    missing = JavaPackage('petastorm.sql.PetastormFunctions', None)
    spark = types.SimpleNamespace(_jvm=types.SimpleNamespace(
        petastorm=types.SimpleNamespace(sql=types.SimpleNamespace(PetastormFunctions=missing))))
    with pytest.raises(jvm.JvmFunctionsUnavailableError, match='--jars .*petastorm-native.jar'):
        jvm.image_schema(spark)
    with pytest.raises(jvm.JvmFunctionsUnavailableError, match='Spark Connect'):
        jvm.image_schema(types.SimpleNamespace())
    assert ColumnsSchema.fields['label'].nullable
