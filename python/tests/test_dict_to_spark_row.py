"""dict_to_spark_row: validation (messages name the field), encoding, Row layout."""
import numpy as np
import pytest
from pyspark.sql import Row
from pyspark.sql.types import ByteType, IntegerType, StringType

from _schemas import HelloWorldSchema
from petastorm.codecs import NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField, dict_to_spark_row, insert_explicit_nulls

Schema = Unischema('S', [
    UnischemaField('id', np.int64, ()),
    UnischemaField('label', np.str_, (), ScalarCodec(StringType()), True),
    UnischemaField('matrix', np.float32, (None, 2), NdarrayCodec(), True),
])


def _hello_row(x=3):
    rng = np.random.default_rng(x)
    return {'id': x,
            'image1': rng.integers(0, 255, dtype=np.uint8, size=(128, 256, 3)),
            'other_data': rng.integers(0, 255, dtype=np.uint8, size=(4, 128, 30, 3))}


def test_hello_world_row():
    data = _hello_row()
    row = dict_to_spark_row(HelloWorldSchema, data)
    assert isinstance(row, Row)
    assert row.__fields__ == ['id', 'image1', 'other_data']
    assert row.id == 3 and type(row.id) is int
    assert isinstance(row.image1, bytearray) and isinstance(row.other_data, bytearray)
    f = HelloWorldSchema.fields
    np.testing.assert_array_equal(f['image1'].codec.decode(f['image1'], row.image1), data['image1'])
    np.testing.assert_array_equal(f['other_data'].codec.decode(f['other_data'], row.other_data), data['other_data'])
    assert row.asDict()['id'] == 3


def test_fields_in_schema_order_and_missing_nullables_are_none():
    row = dict_to_spark_row(Schema, {'matrix': np.zeros((1, 2), np.float32), 'id': np.int64(5)})
    assert row.__fields__ == ['id', 'label', 'matrix']
    assert row[0] == 5 and type(row[0]) is int
    assert row[1] is None and isinstance(row[2], bytearray)
    assert dict_to_spark_row(Schema, {'id': 1, 'label': None, 'matrix': None})[1:] == (None, None)


def test_input_dict_is_not_modified():
    data = {'id': 1}
    dict_to_spark_row(Schema, data)
    assert data == {'id': 1}


@pytest.mark.parametrize('row, field, error', [
    ({'label': 'x'}, 'id', ValueError),                                          # missing non-nullable
    ({'id': 1, 'bogus': 2}, 'bogus', ValueError),                                # extra key
    ({'id': None}, 'id', ValueError),                                            # None in non-nullable
    ({'id': 1, 'matrix': np.zeros((3, 2), np.float64)}, 'matrix', ValueError),   # wrong dtype
    ({'id': 1, 'matrix': np.zeros((3, 3), np.float32)}, 'matrix', ValueError),   # non-compliant shape
    ({'id': 1, 'matrix': np.zeros((3,), np.float32)}, 'matrix', ValueError),     # wrong rank
    ({'id': 1, 'label': ['a', 'b']}, 'label', TypeError),                        # list to ScalarCodec
    ({'id': 1, 'label': 7}, 'label', ValueError),                                # non-string to string column
    ({'id': 1, 'matrix': [[1.0, 2.0]]}, 'matrix', (ValueError, TypeError)),      # non-ndarray to NdarrayCodec
    ({'id': np.arange(3)}, 'id', TypeError),                                     # ndarray to a codec-less field
], ids=['missing', 'extra', 'none', 'dtype', 'shape', 'rank', 'list', 'nonstring', 'nonndarray', 'codecless'])
def test_validation_errors_name_the_field(row, field, error):
    with pytest.raises(error, match=field):
        dict_to_spark_row(Schema, row)


def test_hello_world_validation():
    data = _hello_row()
    data['image1'] = data['image1'][:, :100]
    with pytest.raises(ValueError, match='image1'):
        dict_to_spark_row(HelloWorldSchema, data)
    with pytest.raises(TypeError):
        dict_to_spark_row({'not': 'a schema'}, _hello_row())


def test_insert_explicit_nulls():
    data = {'id': 1}
    insert_explicit_nulls(Schema, data)
    assert data == {'id': 1, 'label': None, 'matrix': None}
    with pytest.raises(ValueError, match='id'):
        insert_explicit_nulls(Schema, {})


IntSchema = Unischema('I', [
    UnischemaField('small', np.int8, (), ScalarCodec(ByteType()), False),
    UnischemaField('count', np.int32, (), ScalarCodec(IntegerType()), False),
])


@pytest.mark.parametrize('row, message', [
    ({'small': 1, 'count': float('nan')}, "field 'count': value NaN does not fit Spark type integer"),
    ({'small': 1, 'count': 2 ** 31}, "field 'count': value 2147483648 does not fit Spark type integer"),
    ({'small': 300, 'count': 1}, "field 'small': value 300 does not fit Spark type byte"),
    ({'small': 1, 'count': np.float32('-inf')}, "field 'count': value -inf does not fit Spark type integer"),
])
def test_integer_fields_refuse_nan_and_out_of_range_values_naming_the_field(row, message):
    with pytest.raises(ValueError) as info:
        dict_to_spark_row(IntSchema, row)
    assert str(info.value).startswith(message)


def test_a_key_that_is_not_a_string_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match='the row has a key 7 that is not a string'):
        dict_to_spark_row(IntSchema, {'small': 1, 'count': 2, 7: 'x'})
