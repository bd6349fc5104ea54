//! NUL-separated argv words (and READYGATE_TARGETS after `--env`) through the parser and the plan.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| readygate::fuzz::command_line(data));
