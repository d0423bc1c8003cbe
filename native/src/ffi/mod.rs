//! Foreign interfaces: a panic guard, the JSON-level operations both bindings share,
//! the C ABI (Python, through ctypes) and JNI (the JVM).

pub mod api;
pub mod c;
pub mod guard;
pub mod jni;

pub use guard::guard;
