//! Versioned migrations shared by the backends: each backend ships its own SQL files, applies the
//! missing ones in order, and refuses to start if an applied migration was edited afterwards.

/// One schema change, applied once.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// A stable fingerprint of the SQL (FNV-1a, 64 bits), recorded when applied.
    pub fn checksum(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in self.sql.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

/// The error to raise when an applied migration no longer matches its file.
pub fn edited_error(m: &Migration) -> crate::StoreError {
    crate::StoreError::Backend(format!(
        "migration {} ({}) was changed after it was applied; add a new migration instead",
        m.version, m.name
    ))
}
