//! JNI: Spark column values ↔ cells (`petastorm.sql.functions`): element buffers with a
//! shape, Spark `image` structs, and the decoded forms Spark SQL holds. Encoders given a
//! writer handle put the cell into the writer's current row instead of returning it.

use jni::objects::{JByteArray, JClass, JLongArray, JString};
use jni::sys::{jbyteArray, jint, jlong, jobject, jstring};
use jni::JNIEnv;

use super::writer::writer_arg;
use super::{bytes_arg, bytes_range_arg, call, call_string, decode_with, jni_error, schema_arg, shape_arg, string_arg};
use crate::error::Result;
use crate::ffi::api;
use crate::schema::column::{self, ImageStruct};

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_petastorm_jni_NativeLib_encodeValues<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    dtype: JString<'l>,
    shape: JLongArray<'l>,
    data: JByteArray<'l>,
    offset: jint,
    length: jint,
    writer: jlong,
) -> jbyteArray {
    call(&mut env, |env| {
        let dtype = match dtype.is_null() {
            true => None,
            false => Some(string_arg(env, &dtype, "dtype")?),
        };
        let (dtype, shape) = (dtype.as_deref(), shape_arg(env, &shape)?);
        let index = api::field_index(field_index.into())?;
        let data = bytes_range_arg(env, &data, "data", offset, length)?;
        let cell = match writer {
            0 => Some(column::encode_values(schema_arg(schema)?, index, dtype, shape.as_deref(), &data)?),
            w => writer_arg(w)?.with(|w| w.put_values(index, dtype, shape.as_deref(), &data)).map(|()| None)?,
        };
        cell_or_null(env, cell)
    })
    .into_raw()
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub extern "system" fn Java_petastorm_jni_NativeLib_encodeImageStruct<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    height: jint,
    width: jint,
    n_channels: jint,
    mode: jint,
    data: JByteArray<'l>,
    writer: jlong,
) -> jbyteArray {
    call(&mut env, |env| {
        let index = api::field_index(field_index.into())?;
        let (h, w, c, m) = (height.into(), width.into(), n_channels.into(), mode.into());
        let data = bytes_arg(env, &data, "data")?;
        let cell = match writer {
            0 => Some(column::encode_image_struct(schema_arg(schema)?, index, h, w, c, m, &data)?),
            handle => {
                let image = ImageStruct { height: h, width: w, channels: c, mode: m, data: &data };
                writer_arg(handle)?.with(|wr| wr.put_image_struct(index, image)).map(|()| None)?
            }
        };
        cell_or_null(env, cell)
    })
    .into_raw()
}

/// An encoded cell as a Java `byte[]`; `None` (the cell went into a writer) as `null`.
fn cell_or_null<'l>(env: &mut JNIEnv<'l>, cell: Option<Vec<u8>>) -> Result<JByteArray<'l>> {
    match cell {
        Some(cell) => env.byte_array_from_slice(&cell).map_err(jni_error),
        None => Ok(JByteArray::default()),
    }
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_decodedElementType<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
) -> jstring {
    call_string(&mut env, |_| {
        Ok(column::decoded_element_type(schema_arg(schema)?, api::field_index(field_index.into())?)?.to_string())
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_decodeValues<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    cell: JByteArray<'l>,
) -> jobject {
    decode_with(&mut env, schema, field_index, &cell, column::decode_values)
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_decodeImageStruct<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    cell: JByteArray<'l>,
) -> jobject {
    decode_with(&mut env, schema, field_index, &cell, column::decode_image_struct)
}
