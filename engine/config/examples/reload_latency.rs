//! Save→live latency of hot reload: edits a copy of the shipped configuration N times and
//! measures, for each save, the time until `ConfigStore::current` returns the new version.
//!
//! Run: `cargo run --release -p vartalaap-config --example reload_latency -- [N]` (default 50).
//! The time includes the watcher's debounce (100 ms quiet) and a full recompile of every
//! business, flow and plugin.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vartalaap_config::ConfigStore;

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        if path.is_file() {
            std::fs::copy(&path, to.join(path.file_name().unwrap_or_default()))?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(50);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tmp = tempfile::tempdir()?;
    for dir in ["businesses", "flows", "plugins"] {
        copy_dir(&repo.join(dir), &tmp.path().join(dir))?;
    }
    let id = "himalayan_kitchen";
    let file = tmp.path().join("businesses").join(format!("{id}.yaml"));
    let original = std::fs::read_to_string(&file)?;
    if !original.contains("retention_days: 90") {
        return Err("expected `retention_days: 90` in the business file".into());
    }

    let store = Arc::new(ConfigStore::load(tmp.path()).map_err(|e| format!("{e:?}"))?);
    let _guard = store.spawn_watcher()?;
    let compile = {
        let t = Instant::now();
        let _ = vartalaap_config::load_root(tmp.path());
        t.elapsed()
    };

    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let before = store
            .current(id)
            .ok_or("business not live")?
            .version
            .clone();
        let text = original.replace(
            "retention_days: 90",
            &format!("retention_days: {}", 91 + (i % 500)),
        );
        let saved = Instant::now();
        std::fs::write(&file, text)?;
        loop {
            if store.current(id).is_some_and(|s| s.version != before) {
                break;
            }
            if saved.elapsed() > Duration::from_secs(10) {
                return Err(format!("save {i} did not go live within 10 s").into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        samples.push(saved.elapsed());
        // Let the watcher go quiet so each save is measured on its own.
        std::thread::sleep(Duration::from_millis(150));
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 - 1.0) * p).round() as usize];
    println!("save→live latency over {n} saves (debounce 100 ms included):");
    println!(
        "  p50 {:.1} ms   p95 {:.1} ms   max {:.1} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    println!(
        "  full compile of the config root alone: {:.1} ms",
        compile.as_secs_f64() * 1e3
    );
    Ok(())
}
