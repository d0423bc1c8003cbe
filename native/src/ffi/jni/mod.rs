//! JNI bindings of `petastorm.jni.NativeLib` (static natives of a Java class): argument
//! conversion, schema handles as `long`, and errors thrown as their kind's Java class.

mod column;
mod commit;
mod converter_cache;
mod logging;
mod metadata;
mod schema;
mod storage;
mod writer;

use jni::objects::{JByteArray, JLongArray, JObject, JString, JValue};
use jni::sys::{jint, jlong, jobject, jstring};
use jni::JNIEnv;

use super::guard;
use crate::codec::Tensor;
use crate::error::{Error, Result};
use crate::schema::Unischema;

/// Diagnostics: panics inside the guard, so bindings can check that a Rust panic surfaces as a
/// Java exception (`PetastormException: panic: <message>`) and never aborts the JVM.
#[no_mangle]
pub extern "system" fn Java_petastorm_jni_NativeLib_panicProbe<'l>(
    mut env: JNIEnv<'l>,
    _: jni::objects::JClass<'l>,
    message: JString<'l>,
) {
    call(&mut env, |env| -> Result<()> {
        let message = string_arg(env, &message, "message")?;
        panic!("{message}")
    })
}

/// Runs a guarded body; on error throws the kind's Java exception (unless a Java exception
/// is already pending) and returns `T::default()` (0 or null).
fn call<'l, T: Default>(env: &mut JNIEnv<'l>, f: impl FnOnce(&mut JNIEnv<'l>) -> Result<T>) -> T {
    guard(|| f(env)).unwrap_or_else(|e| {
        if !env.exception_check().unwrap_or(false) {
            throw(env, &e);
        }
        T::default()
    })
}

/// [`call`] for a Java `String` result; `None` (and an error) return null.
fn call_string<'l, S: Into<Option<String>>>(
    env: &mut JNIEnv<'l>,
    f: impl FnOnce(&mut JNIEnv<'l>) -> Result<S>,
) -> jstring {
    call(env, |env| match f(env)?.into() {
        Some(s) => env.new_string(s).map_err(jni_error),
        None => Ok(JString::default()),
    })
    .into_raw()
}

/// Throws `e` as its kind's class, or as `RuntimeException` when that class is missing.
fn throw(env: &mut JNIEnv, e: &Error) {
    if env.throw_new(e.kind().info().java_class, e.message()).is_err() {
        let _ = env.exception_clear();
        let _ = env.throw_new("java/lang/RuntimeException", e.message());
    }
}

/// A failed JNI call (a pending Java exception, if any, is thrown instead of this error).
fn jni_error(e: jni::errors::Error) -> Error {
    Error::internal(format!("JNI call failed: {e}"))
}

fn non_null<'a>(obj: &'a JObject, what: &str) -> Result<&'a JObject<'a>> {
    match obj.is_null() {
        true => Err(Error::value(format!("{what} is null"))),
        false => Ok(obj),
    }
}

/// A Java `String` argument.
fn string_arg(env: &mut JNIEnv, s: &JString, what: &str) -> Result<String> {
    non_null(s, what)?;
    Ok(env.get_string(s).map_err(jni_error)?.into())
}

/// A Java `byte[]` argument, copied out (`GetByteArrayRegion`).
fn bytes_arg(env: &mut JNIEnv, a: &JByteArray, what: &str) -> Result<Vec<u8>> {
    non_null(a, what)?;
    env.convert_byte_array(a).map_err(jni_error)
}

/// `length` bytes of a Java `byte[]` argument from `offset`, copied out with
/// `GetByteArrayRegion` (like [`bytes_arg`]). Arguments are never pinned in a critical section:
/// the encoders and the writer's lock that run on them can take seconds, and a pinned array
/// stalls the JVM's garbage collector all that time.
fn bytes_range_arg(env: &mut JNIEnv, a: &JByteArray, what: &str, offset: jint, length: jint) -> Result<Vec<u8>> {
    non_null(a, what)?;
    let len = env.get_array_length(a).map_err(jni_error)?;
    if offset < 0 || length < 0 || offset.checked_add(length).is_none_or(|end| end > len) {
        return Err(Error::value(format!("{what}: bytes {offset}+{length} are outside an array of {len}")));
    }
    let mut out = vec![0i8; length as usize];
    env.get_byte_array_region(a, offset, &mut out).map_err(jni_error)?;
    Ok(out.into_iter().map(|b| b as u8).collect()) // same layout: collected in place
}

/// An optional `long[]` shape (`null`: none).
fn shape_arg(env: &mut JNIEnv, shape: &JLongArray) -> Result<Option<Vec<usize>>> {
    if shape.is_null() {
        return Ok(None);
    }
    let mut dims = vec![0i64; env.get_array_length(shape).map_err(jni_error)? as usize];
    env.get_long_array_region(shape, 0, &mut dims).map_err(jni_error)?;
    crate::ffi::api::shape(&dims).map(Some)
}

/// The schema behind a handle from `schemaParse`.
fn schema_arg<'a>(handle: jlong) -> Result<&'a Unischema> {
    // SAFETY: non-zero handles come from `schemaParse` and live until `schemaFree`.
    unsafe { (handle as *const Unischema).as_ref() }.ok_or_else(|| Error::value("schema handle is 0"))
}

/// A `petastorm.jni.DecodedArray(dtype, shape, data)` of a decoded tensor.
/// Decodes `cell` with `decode` (one of the schema's cell decoders) into a `DecodedArray`.
fn decode_with<'l>(
    env: &mut JNIEnv<'l>,
    schema: jlong,
    field_index: jint,
    cell: &JByteArray<'l>,
    decode: fn(&Unischema, usize, &[u8]) -> Result<Tensor>,
) -> jobject {
    call(env, |env| {
        let cell = bytes_arg(env, cell, "cell")?;
        let t = decode(schema_arg(schema)?, crate::ffi::api::field_index(field_index.into())?, &cell)?;
        decoded_array(env, &t)
    })
    .into_raw()
}

fn decoded_array<'l>(env: &mut JNIEnv<'l>, t: &Tensor) -> Result<JObject<'l>> {
    let dtype = env.new_string(t.dtype.descr()).map_err(jni_error)?;
    let dims: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    let shape = env.new_long_array(dims.len() as i32).map_err(jni_error)?;
    env.set_long_array_region(&shape, 0, &dims).map_err(jni_error)?;
    let data = env.byte_array_from_slice(&t.data).map_err(jni_error)?;
    let args = [JValue::Object(&dtype), JValue::Object(&shape), JValue::Object(&data)];
    env.new_object("petastorm/jni/DecodedArray", "(Ljava/lang/String;[J[B)V", &args).map_err(jni_error)
}
