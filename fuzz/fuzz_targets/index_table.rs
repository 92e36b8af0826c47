//! A checkpoint's `.index` table from raw bytes. The first byte chooses
//! whether block crcs are repaired first, so mutations reach the block and
//! entry decoding behind the checksums.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tfmodel_core::checkpoint::Table;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut file = rest.to_vec();
    if mode & 1 == 1 {
        tfmodel_fuzz::table::repair_crcs(&mut file);
    }
    if let Ok(table) = Table::parse(&file) {
        for entry in table.entries() {
            assert_eq!(table.get(&entry.key), Some(entry.value.as_slice()));
        }
    }
});
