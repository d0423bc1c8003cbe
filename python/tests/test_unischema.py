"""Unischema and UnischemaField: equality, views, Spark schema, JSON, pickling."""
import json
import pickle
from decimal import Decimal

import numpy as np
import pytest
from pyspark import cloudpickle
from pyspark.sql.types import (BinaryType, BooleanType, ByteType, DecimalType, DoubleType, FloatType, IntegerType,
                               LongType, ShortType, StringType, StructField, StructType)

from _schemas import HELLO_JSON, HelloWorldSchema
from petastorm.codecs import CompressedImageCodec, CompressedNdarrayCodec, NdarrayCodec, ScalarCodec
from petastorm.unischema import Unischema, UnischemaField, match_unischema_fields


def test_field_equality_and_hash_ignore_codec():
    a = UnischemaField('f', np.uint8, (2, 3), NdarrayCodec(), False)
    b = UnischemaField('f', np.uint8, (2, 3), CompressedNdarrayCodec(), False)
    assert a == b and hash(a) == hash(b) and not (a != b)
    assert a != a._replace(numpy_dtype=np.int8)
    assert a != a._replace(shape=(2, None))
    assert a != a._replace(nullable=True)
    assert a != a._replace(name='g')
    assert len({a, b}) == 1
    assert UnischemaField('x', np.int32, ()).codec is None
    assert UnischemaField('x', np.int32, ()).nullable is False


def test_fields_order_and_attributes():
    assert list(HelloWorldSchema.fields) == ['id', 'image1', 'other_data']
    assert HelloWorldSchema.id is HelloWorldSchema.fields['id']
    assert HelloWorldSchema._name == 'HelloWorldSchema'


def test_str_like_upstream():
    assert str(HelloWorldSchema) == (
        "Unischema(HelloWorldSchema, [\n"
        "  UnischemaField('id', int32, (), ScalarCodec(IntegerType()), False),\n"
        "  UnischemaField('image1', uint8, (128, 256, 3), CompressedImageCodec('png', 80), False),\n"
        "  UnischemaField('other_data', uint8, (None, 128, 30, None), NdarrayCodec(), False),\n"
        "])")
    assert repr(HelloWorldSchema) == str(HelloWorldSchema)


def test_create_schema_view_with_regex_and_fields():
    view = HelloWorldSchema.create_schema_view([HelloWorldSchema.id, 'other.*'])
    assert list(view.fields) == ['id', 'other_data']
    assert view._name == 'HelloWorldSchema_view'
    assert view.fields['other_data'].codec == NdarrayCodec()
    assert list(HelloWorldSchema.create_schema_view(['.*']).fields) == ['id', 'image1', 'other_data']
    # a regex must match the whole name
    assert list(HelloWorldSchema.create_schema_view(['image']).fields) == []
    assert list(HelloWorldSchema.create_schema_view(['image.', 'i.']).fields) == ['id', 'image1']
    with pytest.raises(ValueError, match='does not belong'):
        HelloWorldSchema.create_schema_view([UnischemaField('nope', np.int32, ())])
    with pytest.raises(ValueError):
        HelloWorldSchema.create_schema_view([42])


def test_match_unischema_fields_in_schema_order():
    assert [f.name for f in match_unischema_fields(HelloWorldSchema, ['other.*', 'id'])] == ['id', 'other_data']
    assert match_unischema_fields(HelloWorldSchema, []) == []
    assert match_unischema_fields(HelloWorldSchema, None) == []


def test_as_spark_schema_hello_world():
    assert HelloWorldSchema.as_spark_schema() == StructType([
        StructField('id', IntegerType(), False),
        StructField('image1', BinaryType(), False),
        StructField('other_data', BinaryType(), False),
    ])


def test_as_spark_schema_type_rules():
    schema = Unischema('S', [
        UnischemaField('i8', np.int8, ()), UnischemaField('u8', np.uint8, ()),
        UnischemaField('i16', np.int16, ()), UnischemaField('u16', np.uint16, ()),
        UnischemaField('i32', np.int32, ()), UnischemaField('i64', np.int64, ()),
        UnischemaField('f32', np.float32, ()), UnischemaField('f64', np.float64, ()),
        UnischemaField('s', np.str_, (), None, True), UnischemaField('b', np.bool_, ()),
        UnischemaField('by', np.bytes_, ()), UnischemaField('d', Decimal, ()),
        UnischemaField('dc', Decimal, (), ScalarCodec(DecimalType(10, 9))),
        UnischemaField('arr', np.float32, (3,), CompressedNdarrayCodec()),
        UnischemaField('sc', np.int16, (), ScalarCodec(LongType())),
    ])
    types = {f.name: (f.dataType, f.nullable) for f in schema.as_spark_schema().fields}
    assert types == {
        'i8': (ByteType(), False), 'u8': (ShortType(), False), 'i16': (ShortType(), False),
        'u16': (IntegerType(), False), 'i32': (IntegerType(), False), 'i64': (LongType(), False),
        'f32': (FloatType(), False), 'f64': (DoubleType(), False), 's': (StringType(), True),
        'b': (BooleanType(), False), 'by': (BinaryType(), False), 'd': (DecimalType(10, 0), False),
        'dc': (DecimalType(10, 9), False), 'arr': (BinaryType(), False), 'sc': (LongType(), False),
    }


def test_json_round_trip_matches_documented_form():
    assert json.loads(HelloWorldSchema.to_json()) == HELLO_JSON
    back = Unischema.from_json(HelloWorldSchema.to_json())
    assert back.fields == HelloWorldSchema.fields
    for name, field in back.fields.items():
        assert field.codec == HelloWorldSchema.fields[name].codec
        assert field.numpy_dtype is HelloWorldSchema.fields[name].numpy_dtype
    assert json.loads(HelloWorldSchema._native().to_json()) == HELLO_JSON


def test_python_types_map_like_numpy():
    schema = Unischema('P', [UnischemaField('s', str, ()), UnischemaField('b', bytes, ()),
                             UnischemaField('t', bool, ()), UnischemaField('i', int, ()),
                             UnischemaField('f', float, ()), UnischemaField('d', Decimal, ()),
                             UnischemaField('h', np.float16, (None,), NdarrayCodec())])
    dtypes = [f['dtype'] for f in json.loads(schema.to_json())['fields']]
    assert dtypes == ['str', 'bytes', 'bool', 'int64', 'float64', 'decimal', 'float16']
    back = Unischema.from_json(schema.to_json())
    assert [f.numpy_dtype for f in back.fields.values()] == [np.str_, np.bytes_, np.bool_, np.int64, np.float64,
                                                             Decimal, np.float16]


def test_unsupported_dtype_names_the_field():
    schema = Unischema('U', [UnischemaField('cplx', np.complex64, ())])
    with pytest.raises(ValueError, match='cplx'):
        schema.to_json()


def test_scalar_codec_from_json_builds_spark_type_lazily():
    schema = Unischema.from_json({'name': 'J', 'fields': [
        {'name': 'x', 'dtype': 'float64', 'shape': [], 'nullable': True,
         'codec': {'type': 'scalar', 'spark_type': 'decimal(10,9)'}}]})
    codec = schema.fields['x'].codec
    assert codec == ScalarCodec(DecimalType(10, 9))
    assert codec.spark_dtype() == DecimalType(10, 9)
    assert repr(codec) == 'ScalarCodec(DecimalType(10,9))'


@pytest.mark.parametrize('dumps', [pickle.dumps, cloudpickle.dumps])
def test_pickle_round_trip(dumps):
    HelloWorldSchema._native()  # make sure a live handle exists before pickling
    data = dumps(HelloWorldSchema)
    back = pickle.loads(data)
    assert back.fields == HelloWorldSchema.fields
    assert [f.codec for f in back.fields.values()] == [f.codec for f in HelloWorldSchema.fields.values()]
    assert back.id == HelloWorldSchema.id
    assert '_pst_handle' not in back.__dict__
    assert back.as_spark_schema() == HelloWorldSchema.as_spark_schema()
    assert back._native() is not HelloWorldSchema._native()


def test_make_namedtuple():
    row = HelloWorldSchema.make_namedtuple(id=1, image1=None, other_data=2)
    assert row.id == 1 and row.image1 is None and row.other_data == 2
    assert type(row) is type(HelloWorldSchema.make_namedtuple(id=2, image1=3, other_data=4))
    assert type(row).__name__ == 'HelloWorldSchema_view'
    assert row._fields == ('id', 'image1', 'other_data')


def test_image_codec_names():
    assert CompressedImageCodec('jpg') == CompressedImageCodec('jpeg', 80)
    assert CompressedImageCodec('.png').image_codec == 'png'
    assert CompressedImageCodec('jpeg', 90) != CompressedImageCodec('jpeg', 80)
    assert repr(CompressedImageCodec('jpeg', 90)) == "CompressedImageCodec('jpeg', 90)"
    with pytest.raises(ValueError):
        CompressedImageCodec('gif')


def test_codecs_that_cannot_be_named_are_rejected_naming_the_field():
    """A user's codec is stored by module and class name: a class local to a function has none
    (pickle refuses it too), and an object that is no codec is refused (see test_custom_codec.py)."""
    from petastorm.codecs import DataframeColumnCodec

    class MyCodec(DataframeColumnCodec):
        def encode(self, unischema_field, value):
            return value

        def decode(self, unischema_field, value):
            return value

        def spark_dtype(self):
            return BinaryType()

    codec = MyCodec()
    assert codec == codec and codec != MyCodec()
    schema = Unischema('C', [UnischemaField('custom', np.uint8, (None,), codec)])
    with pytest.raises(ValueError, match="field 'custom'.*MyCodec.*module level"):
        schema.to_json()
    schema = Unischema('C', [UnischemaField('custom', np.uint8, (None,), object())])
    with pytest.raises(ValueError, match="field 'custom'.*not a petastorm.codecs.DataframeColumnCodec"):
        schema.to_json()
