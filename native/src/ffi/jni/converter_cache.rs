//! JNI: the persistent converter cache's key and marker (`dataset::converter_cache`).

use jni::objects::{JByteArray, JClass, JString};
use jni::sys::{jboolean, jbyteArray, jlong, jstring};
use jni::JNIEnv;

use super::{bytes_arg, call, call_string, jni_error, string_arg};
use crate::dataset::{converter_cache, converter_dir};
use crate::error::Error;
use crate::ffi::api;

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_cacheKey<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    inputs_json: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| api::cache_key(&string_arg(env, &inputs_json, "inputsJson")?))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_cacheDeniedClass<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    plan_json: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| Ok(converter_cache::denied_class(&string_arg(env, &plan_json, "planJson")?)))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_cacheMarker<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    key: JString<'l>,
    rows: jlong,
    files_json: JString<'l>,
) -> jbyteArray {
    call(&mut env, |env| {
        let rows = u64::try_from(rows).map_err(|_| Error::value(format!("negative row count {rows}")))?;
        let key = string_arg(env, &key, "key")?;
        let marker = api::cache_marker(&key, rows, &string_arg(env, &files_json, "filesJson")?)?;
        env.byte_array_from_slice(&marker).map_err(jni_error)
    })
    .into_raw()
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_cacheCheckMarker<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    marker: JByteArray<'l>,
    key: JString<'l>,
    present_json: JString<'l>,
) -> jlong {
    call(&mut env, |env| {
        let marker = bytes_arg(env, &marker, "marker")?;
        let key = string_arg(env, &key, "key")?;
        api::cache_check_marker(&marker, &key, &string_arg(env, &present_json, "presentJson")?)
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_converterDirName<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    app_id: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| Ok(converter_dir::new_dir_name(&string_arg(env, &app_id, "appId")?)))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_converterCheckDelete<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    url: JString<'l>,
    parent: JString<'l>,
) {
    call(&mut env, |env| {
        let parent = if parent.is_null() { None } else { Some(string_arg(env, &parent, "parent")?) };
        converter_dir::check_deletable(&string_arg(env, &url, "url")?, parent.as_deref())
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_isConverterDirName<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    name: JString<'l>,
) -> jboolean {
    call(&mut env, |env| Ok(u8::from(converter_dir::is_dir_name(&string_arg(env, &name, "name")?))))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_converterMarkerName<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
) -> jstring {
    call_string(&mut env, |_| Ok(converter_cache::MARKER.to_string()))
}
