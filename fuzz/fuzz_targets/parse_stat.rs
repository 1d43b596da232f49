#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| memwatch_fuzz::checks::parse_stat(data));
