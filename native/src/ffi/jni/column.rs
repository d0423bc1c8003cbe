//! JNI: Spark column values ↔ cells (`petastorm.sql.functions`): element buffers with a
//! shape, Spark `image` structs, and the decoded forms Spark SQL holds.

use jni::objects::{JByteArray, JClass, JLongArray, JString};
use jni::sys::{jbyteArray, jint, jlong, jobject, jstring};
use jni::JNIEnv;

use super::{bytes_arg, call, decode_with, jni_error, schema_arg, string_arg};
use crate::error::Result;
use crate::ffi::api;
use crate::schema::column;

/// An optional `long[]` shape (`null`: none).
fn shape_arg(env: &mut JNIEnv, shape: &JLongArray) -> Result<Option<Vec<usize>>> {
    if shape.is_null() {
        return Ok(None);
    }
    let mut dims = vec![0i64; env.get_array_length(shape).map_err(jni_error)? as usize];
    env.get_long_array_region(shape, 0, &mut dims).map_err(jni_error)?;
    api::shape(&dims).map(Some)
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_encodeValues<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    dtype: JString<'l>,
    shape: JLongArray<'l>,
    data: JByteArray<'l>,
) -> jbyteArray {
    call(&mut env, |env| {
        let dtype = match dtype.is_null() {
            true => None,
            false => Some(string_arg(env, &dtype, "dtype")?),
        };
        let shape = shape_arg(env, &shape)?;
        let data = bytes_arg(env, &data, "data")?;
        let index = api::field_index(field_index.into())?;
        let cell = column::encode_values(schema_arg(schema)?, index, dtype.as_deref(), shape.as_deref(), &data)?;
        env.byte_array_from_slice(&cell).map_err(jni_error)
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
) -> jbyteArray {
    call(&mut env, |env| {
        let data = bytes_arg(env, &data, "data")?;
        let index = api::field_index(field_index.into())?;
        let (h, w, c, m) = (height.into(), width.into(), n_channels.into(), mode.into());
        let cell = column::encode_image_struct(schema_arg(schema)?, index, h, w, c, m, &data)?;
        env.byte_array_from_slice(&cell).map_err(jni_error)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_decodedElementType<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
) -> jstring {
    call(&mut env, |env| {
        let t = column::decoded_element_type(schema_arg(schema)?, api::field_index(field_index.into())?)?;
        env.new_string(t.to_string()).map_err(jni_error)
    })
    .into_raw()
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
