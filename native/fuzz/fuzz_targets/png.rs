//! cargo-fuzz target: `petastorm_native::fuzzing::png` (the body lives in the main crate).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| petastorm_native::fuzzing::png(data));
