//! JNI: writer settings, Parquet footers and `_common_metadata`.

use jni::objects::{JByteArray, JClass, JObject, JObjectArray, JString};
use jni::sys::{jboolean, jbyteArray, jlong, jstring};
use jni::JNIEnv;

use super::{bytes_arg, call, call_string, jni_error, non_null, schema_arg, string_arg};
use crate::dataset::{discovery, metadata};
use crate::error::{Error, Result};
use crate::ffi::api;

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_writerHadoopConf<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    row_group_size_mb: jlong,
) -> jstring {
    call_string(&mut env, |_| Ok(api::writer_hadoop_conf(row_group_size_mb)))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_isDataFile<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    rel_path: JString<'l>,
) -> jboolean {
    call(&mut env, |env| Ok(u8::from(discovery::is_data_file(&string_arg(env, &rel_path, "relPath")?))))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_parquetFooterLength<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    tail8: JByteArray<'l>,
) -> jlong {
    call(&mut env, |env| Ok(metadata::parquet_footer_len(&bytes_arg(env, &tail8, "tail8")?)? as jlong))
}

/// The elements of a Java array, converted one by one (local references freed as it goes).
fn array_arg<'l, T>(
    env: &mut JNIEnv<'l>,
    array: &JObjectArray<'l>,
    what: &str,
    convert: impl Fn(&mut JNIEnv<'l>, &JObject<'l>) -> Result<T>,
) -> Result<Vec<T>> {
    non_null(array, what)?;
    let len = env.get_array_length(array).map_err(jni_error)?;
    (0..len)
        .map(|i| {
            let element = env.get_object_array_element(array, i).map_err(jni_error)?;
            let value = convert(env, &element);
            env.delete_local_ref(element).map_err(jni_error)?;
            value
        })
        .collect()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_commonMetadata<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    schema: jlong,
    rel_paths: JObjectArray<'l>,
    footers: JObjectArray<'l>,
) -> jbyteArray {
    call(&mut env, |env| {
        let paths =
            array_arg(env, &rel_paths, "relPaths", |env, o| string_arg(env, <&JString>::from(o), "a relative path"))?;
        let footers = array_arg(env, &footers, "footers", |env, o| bytes_arg(env, <&JByteArray>::from(o), "a footer"))?;
        if paths.len() != footers.len() {
            return Err(Error::value(format!("{} relative paths but {} footers", paths.len(), footers.len())));
        }
        let files: Vec<(&str, &[u8])> =
            paths.iter().map(String::as_str).zip(footers.iter().map(Vec::as_slice)).collect();
        let bytes = metadata::common_metadata(schema_arg(schema)?, &files)?;
        env.byte_array_from_slice(&bytes).map_err(jni_error)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_schemaFromMetadata<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    file_bytes: JByteArray<'l>,
) -> jstring {
    call_string(&mut env, |env| {
        Ok(metadata::schema_from_metadata(&bytes_arg(env, &file_bytes, "fileBytes")?)?.to_json())
    })
}
