//! Where things are in the repository. One place for paths.

use std::path::PathBuf;

/// The repository root (the directory holding the workspace `Cargo.toml`).
pub fn root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}
