//! JNI: the rules of the native writer's commit protocol (`dataset::commit`), applied by the JVM
//! through its Hadoop FileSystem.

use jni::objects::{JClass, JString};
use jni::sys::{jboolean, jint, jlong, jstring};
use jni::JNIEnv;

use super::{call, call_string, string_arg};
use crate::dataset::commit;
use crate::error::{Error, Result};

fn partition_arg(partition: jint) -> Result<u32> {
    u32::try_from(partition).map_err(|_| Error::value(format!("invalid partition {partition}")))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_datasetSaveAction<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    mode: JString<'l>,
    exists: jboolean,
) -> jint {
    call(&mut env, |env| Ok(commit::save_action(&string_arg(env, &mode, "mode")?, exists != 0)? as jint))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_datasetStagingDir<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    job: JString<'l>,
) -> jstring {
    call_string(&mut env, |env| commit::staging_dir(&string_arg(env, &job, "job")?))
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_datasetStagingPart<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    job: JString<'l>,
    partition: jint,
    attempt: jlong,
) -> jstring {
    call_string(&mut env, |env| {
        let attempt = u64::try_from(attempt).map_err(|_| Error::value(format!("invalid attempt {attempt}")))?;
        commit::staging_part(&string_arg(env, &job, "job")?, partition_arg(partition)?, attempt)
    })
}

#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_datasetCommittedPart<'l>(
    mut env: JNIEnv<'l>,
    _: JClass<'l>,
    job: JString<'l>,
    partition: jint,
) -> jstring {
    call_string(&mut env, |env| Ok(commit::committed_part(&string_arg(env, &job, "job")?, partition_arg(partition)?)))
}
