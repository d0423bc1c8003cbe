//! JNI: the native Parquet part-file writer (`dataset::writer`) behind a `long` handle.

use std::path::Path;

use jni::objects::{JByteArray, JClass, JString};
use jni::sys::{jboolean, jbyteArray, jdouble, jint, jlong, jlongArray, jstring};
use jni::JNIEnv;

use super::{bytes_arg, call, call_string, jni_error, schema_arg, string_arg};
use crate::dataset::writer::{unsupported_field, PartWriter, SharedPartWriter};
use crate::error::{Error, Result};
use crate::ffi::api;

/// The writer behind a handle from `writerOpen`.
pub(super) fn writer_arg<'a>(handle: jlong) -> Result<&'a SharedPartWriter> {
    // SAFETY: non-zero handles come from `writerOpen` and live until `writerFree`.
    unsafe { (handle as *const SharedPartWriter).as_ref() }.ok_or_else(|| Error::value("writer handle is 0"))
}

/// Runs `f` on the open writer behind `handle` with field index `field_index`.
fn put(env: &mut JNIEnv, handle: jlong, field_index: jint, f: impl FnOnce(&mut PartWriter, usize) -> Result<()>) {
    call(env, |_| {
        let index = api::field_index(field_index.into())?;
        writer_arg(handle)?.with(|w| f(w, index))
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerUnsupported<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
) -> jstring {
    call_string(&mut env, |_| Ok(unsupported_field(schema_arg(schema)?)))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerOpen<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    row_group_bytes: jlong,
    compression: JString<'l>,
    local_path: JString<'l>,
) -> jlong {
    call(&mut env, |env| {
        let compression = string_arg(env, &compression, "compression")?;
        let row_group_bytes = usize::try_from(row_group_bytes)
            .map_err(|_| Error::value(format!("invalid row group size {row_group_bytes}")))?;
        let schema = schema_arg(schema)?.clone();
        let writer = match local_path.is_null() {
            true => PartWriter::new(schema, row_group_bytes, &compression)?,
            false => {
                let path = string_arg(env, &local_path, "localPath")?;
                PartWriter::to_file(schema, Path::new(&path), row_group_bytes, &compression)?
            }
        };
        Ok(Box::into_raw(Box::new(SharedPartWriter::new(writer))) as jlong)
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutNull<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
) {
    put(&mut env, writer, field_index, |w, i| w.put_null(i))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutBoolean<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
    value: jboolean,
) {
    put(&mut env, writer, field_index, |w, i| w.put_bool(i, value != 0))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutLong<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
    value: jlong,
) {
    put(&mut env, writer, field_index, |w, i| w.put_long(i, value))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutDouble<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
    value: jdouble,
) {
    put(&mut env, writer, field_index, |w, i| w.put_double(i, value))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutString<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
    value: JString<'l>,
) {
    call(&mut env, |env| {
        let value = string_arg(env, &value, "value")?;
        let index = api::field_index(field_index.into())?;
        writer_arg(writer)?.with(|w| w.put_str(index, &value))
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerPutBytes<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
    field_index: jint,
    value: JByteArray<'l>,
) {
    call(&mut env, |env| {
        let index = api::field_index(field_index.into())?;
        let value = bytes_arg(env, &value, "value")?;
        writer_arg(writer)?.with(|w| w.put_bytes(index, &value))
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerEndRow<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
) {
    call(&mut env, |_| writer_arg(writer)?.with(PartWriter::end_row))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerTakeOutput<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
) -> jbyteArray {
    call(&mut env, |env| {
        let output = writer_arg(writer)?.take_output()?;
        env.byte_array_from_slice(&output).map_err(jni_error)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerFinish<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    writer: jlong,
) -> jlongArray {
    call(&mut env, |env| {
        let (rows, row_groups) = writer_arg(writer)?.finish()?;
        let counts = [rows as jlong, row_groups as jlong];
        let array = env.new_long_array(2).map_err(jni_error)?;
        env.set_long_array_region(&array, 0, &counts).map_err(jni_error)?;
        Ok(array)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerFree<'l>(mut env: JNIEnv<'l>, _: JClass<'l>, writer: jlong) {
    call(&mut env, |_| {
        if writer != 0 {
            // SAFETY: non-zero handles come from `writerOpen`; Java frees each once.
            drop(unsafe { Box::from_raw(writer as *mut SharedPartWriter) });
        }
        Ok(())
    })
}
