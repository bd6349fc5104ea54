//! A Python source file through every reader `#migrated` has.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| readygate::fuzz::migration_file(data));
