//! Regenerates `tests/fixtures/store/v<N>.redb`: one small database per earlier schema version,
//! written exactly as that version laid out its tables. The upgrade test opens each with the
//! current build.
//!
//! Run from the repository root:
//! `cargo run -p vartalaap-store --example gen_store_fixtures`

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/store");
    std::fs::create_dir_all(&dir)?;
    for version in 1..vartalaap_store::SCHEMA_VERSION {
        let path = dir.join(format!("v{version}.redb"));
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        vartalaap_store::fixtures::write_fixture(&path, version)?;
        println!(
            "wrote {} ({} bytes)",
            path.display(),
            std::fs::metadata(&path)?.len()
        );
    }
    Ok(())
}
