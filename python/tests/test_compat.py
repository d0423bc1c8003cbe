"""What code written for upstream Petastorm 0.13.1 relies on: top-level exports, exception bases,
the version string, upstream's keyword names and defaults, re-iterating a TF dataset (Keras
``fit(epochs=3)`` on a finite reader) and warnings for parameters that have no effect here."""
import warnings

import numpy as np
import pytest

from _reader_helpers import ROWS_COUNT, test_dataset, time_limit, url_of, write_dataset  # noqa: F401
from petastorm import make_batch_reader, make_reader
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField


def test_top_level_exports_and_version():
    import petastorm
    from petastorm import NoDataAvailableError, TransformSpec  # noqa: F401
    from petastorm.errors import NoDataAvailableError as errors_class
    assert NoDataAvailableError is errors_class
    from packaging.version import Version
    version = Version(petastorm.__version__)
    assert version.public == '0.13.1' and version.local.startswith('native')
    assert version >= Version('0.13.1') and version < Version('0.13.2')


def test_decode_field_error_is_a_runtime_error(tmp_path):
    from petastorm.utils import DecodeFieldError
    schema = Unischema('S', [UnischemaField('a', np.float32, (2,), NdarrayCodec(), False)])
    with pytest.raises(RuntimeError, match='a'):
        schema.fields['a'].codec.decode(schema.fields['a'], b'not an npy file')
    assert issubclass(DecodeFieldError, RuntimeError)


def test_no_data_available_error_from_top_level(test_dataset):
    from petastorm import NoDataAvailableError
    url, _ = test_dataset
    with pytest.raises(NoDataAvailableError):
        make_reader(url, cur_shard=11, shard_count=12, shuffle_row_groups=False)


def test_in_intersection_keywords_as_upstream(test_dataset):
    from petastorm.predicates import in_intersection
    url, rows = test_dataset
    predicate = in_intersection(predicate_values=[7, 12], _predicate_field='packed')
    with make_reader(url, schema_fields=['id'], predicate=predicate, workers_count=1) as reader:
        got = sorted(int(r.id) for r in reader)
    assert got == [i for i, r in enumerate(rows) if set(r['packed'].tolist()) & {7, 12}]
    assert got  # the predicate selects some rows, not none


def test_in_mem_batched_data_loader_default_capacity(tmp_path):
    from petastorm.pytorch import InMemBatchedDataLoader
    schema = Unischema('S', [UnischemaField('id', np.int64, (), ScalarCodec('long'), False)])
    write_dataset(tmp_path, schema, [{'id': np.int64(i)} for i in range(1500)], rows_per_group=100,
                  groups_per_file=5)
    reader = make_reader(url_of(tmp_path), num_epochs=None, shuffle_row_groups=False, workers_count=1)
    loader = InMemBatchedDataLoader(reader, batch_size=512)
    ids = np.concatenate([batch['id'].numpy() for batch in loader])
    assert ids.tolist() == list(range(1024))  # upstream's rows_capacity=1024, from an infinite reader
    assert reader.stopped


def test_convert_early_to_numpy_accepted_with_same_output(test_dataset):
    url, _ = test_dataset
    out = {}
    for flag in (False, True):
        with make_batch_reader(url, schema_fields=['id', 'score'], convert_early_to_numpy=flag,
                               shuffle_row_groups=False, workers_count=1) as reader:
            out[flag] = np.concatenate([b.id for b in reader])
    assert out[True].tolist() == out[False].tolist() == list(range(ROWS_COUNT))


def test_ignored_parameters_warn_once(test_dataset):
    from petastorm import _ignored
    _ignored._warned.clear()
    url, _ = test_dataset
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for _ in range(2):
            with make_reader(url, schema_fields=['id'], pyarrow_serialize=True, zmq_copy_buffers=False,
                             hdfs_driver='libhdfs', cache_location='/tmp/x') as reader:
                next(reader)
        with make_reader(url, schema_fields=['id']) as reader:  # defaults: no warning
            next(reader)
    messages = sorted(str(w.message).split(' has no effect')[0] for w in caught if w.category is UserWarning)
    assert messages == ["make_reader: parameter cache_location='/tmp/x'",
                        "make_reader: parameter hdfs_driver='libhdfs'",
                        'make_reader: parameter pyarrow_serialize=True',
                        'make_reader: parameter zmq_copy_buffers=False']


def test_keras_fit_three_epochs_on_finite_reader(tmp_path):
    tf = pytest.importorskip('tensorflow')
    from petastorm.tf_utils import make_petastorm_dataset
    schema = Unischema('S', [UnischemaField('x', np.float32, (4,), NdarrayCodec(), False),
                             UnischemaField('y', np.float32, (), ScalarCodec('float'), False)])
    rng = np.random.RandomState(0)
    rows = []
    for _ in range(40):
        x = rng.rand(4).astype(np.float32)
        rows.append({'x': x, 'y': np.float32(x.sum())})
    write_dataset(tmp_path, schema, rows, rows_per_group=10, groups_per_file=2)

    class CountBatches(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.seen = 0

        def on_train_batch_end(self, batch, logs=None):
            self.seen += 1

        def on_epoch_end(self, epoch, logs=None):
            per_epoch.append(self.seen)

    per_epoch = []
    with make_reader(url_of(tmp_path), num_epochs=1, workers_count=1) as reader:
        dataset = make_petastorm_dataset(reader).map(lambda row: (row.x, row.y)).batch(8)
        model = tf.keras.Sequential([tf.keras.Input(shape=(4,)), tf.keras.layers.Dense(1)])
        model.compile(optimizer='sgd', loss='mse')
        history = model.fit(dataset, epochs=3, verbose=0, callbacks=[CountBatches()])
    assert len(history.history['loss']) == 3
    assert per_epoch == [5, 5, 5]  # every epoch read all 40 rows again
