//! JNI: the storage layer's URL rules (`crate::storage`), so the Scala converter names
//! directories exactly as the Python one does.

use jni::objects::{JClass, JString};
use jni::sys::jstring;
use jni::JNIEnv;

use super::{call_string, string_arg};
use crate::storage;

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_normalizeDirUrl<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    url: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| Ok(storage::normalize_dir_url(&string_arg(env, &url, "url")?)))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_existingDirUrl<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    url: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| storage::existing_dir_url(&string_arg(env, &url, "url")?))
}
