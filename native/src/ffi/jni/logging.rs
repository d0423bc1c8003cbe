//! JNI: native log records for slf4j (`crate::logging`), drained by `petastorm.jni.NativeLogDrain`.

use std::time::Duration;

use jni::objects::{JClass, JObject, JValue};
use jni::sys::{jint, jlong, jobject};
use jni::JNIEnv;

use super::{call, jni_error};
use crate::error::Result;
use crate::logging::{self, Record};

/// Installs the native logger (once) and keeps records up to `level` (0 off .. 5 trace).
#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_logSetLevel<'l>(mut env: JNIEnv<'l>, _: JClass<'l>, level: jint) {
    call(&mut env, |_| logging::set_level(level.into()))
}

/// The next record as a `petastorm.jni.NativeLogRecord`, waiting up to `timeoutMillis`; null on
/// timeout. No lock is held while waiting.
#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_logNext<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    timeout_millis: jlong,
) -> jobject {
    call(&mut env, |env| match logging::take(Duration::from_millis(timeout_millis.max(0) as u64)) {
        Some(record) => log_record(env, &record),
        None => Ok(JObject::null()),
    })
    .into_raw()
}

fn log_record<'l>(env: &mut JNIEnv<'l>, r: &Record) -> Result<JObject<'l>> {
    let strings = [r.logger(), r.target.clone(), r.message.clone(), r.thread.clone()]
        .map(|s| env.new_string(s).map(JObject::from))
        .into_iter()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(jni_error)?;
    let args = [
        JValue::Int(r.level as jint),
        JValue::Object(&strings[0]),
        JValue::Object(&strings[1]),
        JValue::Object(&strings[2]),
        JValue::Object(&strings[3]),
        JValue::Long(r.time_ms as jlong),
    ];
    let signature = "(ILjava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;J)V";
    env.new_object("petastorm/jni/NativeLogRecord", signature, &args).map_err(jni_error)
}
