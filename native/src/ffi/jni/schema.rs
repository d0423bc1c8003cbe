//! JNI: schema handles, row checks and cell encoding/decoding.

use jni::objects::{JByteArray, JClass, JLongArray, JString};
use jni::sys::{jboolean, jbyteArray, jint, jlong, jobject, jstring};
use jni::JNIEnv;

use super::{bytes_arg, call, call_string, decode_with, jni_error, schema_arg, shape_arg, string_arg};
use crate::error::{Error, Result};
use crate::ffi::api;
use crate::schema::{decode_cell, encode_cell, pickle, Unischema};

/// Runs `f` on the schema behind `handle` and returns its string as a Java `String`.
fn schema_string<'l>(
    env: &mut JNIEnv<'l>,
    handle: jlong,
    f: impl FnOnce(&mut JNIEnv<'l>, &Unischema) -> Result<String>,
) -> jstring {
    call_string(env, |env| f(env, schema_arg(handle)?))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaParse<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    json: JString<'l>,
) -> jlong {
    call(&mut env, |env| {
        let schema = Unischema::from_json(&string_arg(env, &json, "json")?)?;
        Ok(Box::into_raw(Box::new(schema)) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaFree<'l>(_: JNIEnv<'l>, _: JClass<'l>, schema: jlong) {
    // SAFETY: non-zero handles come from `schemaParse`; Java frees each once.
    unsafe { crate::ffi::guard::free_handle(schema as *mut Unischema) };
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaToJson<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
) -> jstring {
    schema_string(&mut env, schema, |_, s| Ok(s.to_json()))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaSparkJson<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
) -> jstring {
    schema_string(&mut env, schema, |_, s| s.spark_schema_json())
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaPickle<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
) -> jbyteArray {
    call(&mut env, |env| env.byte_array_from_slice(&pickle::to_pickle(schema_arg(schema)?)).map_err(jni_error))
        .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaMatchFields<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    patterns_json: JString<'l>,
) -> jstring {
    schema_string(&mut env, schema, |env, s| api::match_fields(s, &string_arg(env, &patterns_json, "patternsJson")?))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_validateRow<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    row_json: JString<'l>,
) {
    call(&mut env, |env| api::validate_row_json(schema_arg(schema)?, &string_arg(env, &row_json, "rowJson")?))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_encodeCell<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    dtype: JString<'l>,
    shape: JLongArray<'l>,
    fortran_order: jboolean,
    data: JByteArray<'l>,
) -> jbyteArray {
    call(&mut env, |env| {
        let dtype = string_arg(env, &dtype, "dtype")?;
        let shape = shape_arg(env, &shape)?.ok_or_else(|| Error::value("shape is null"))?;
        let index = api::field_index(field_index.into())?;
        let data = bytes_arg(env, &data, "data")?;
        let cell = encode_cell(schema_arg(schema)?, index, &dtype, &shape, fortran_order != 0, &data)?;
        env.byte_array_from_slice(&cell).map_err(jni_error)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_decodeCell<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    field_index: jint,
    cell: JByteArray<'l>,
) -> jobject {
    decode_with(&mut env, schema, field_index, &cell, decode_cell)
}
