//! Hot reload through the real file watcher, in temp directories.
//!
//! Timing is never asserted: each test polls (generously) until the expected state appears.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use vartalaap_config::{ConfigStore, WatchGuard};

const ID: &str = "corner_cafe";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn business(price: u32) -> String {
    let text =
        fs::read_to_string(repo().join("tests/config/valid/minimal/businesses/corner_cafe.yaml"))
            .unwrap();
    assert!(text.contains("price_inr: 120"));
    text.replace("price_inr: 120", &format!("price_inr: {price}"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

/// A temp config root with the shipped flows and plugins and an empty `businesses/`.
fn scratch_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("flows"), &dir.path().join("flows"));
    copy_dir(&repo().join("plugins"), &dir.path().join("plugins"));
    fs::create_dir_all(dir.path().join("businesses")).unwrap();
    dir
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Arc<ConfigStore>,
    _guard: WatchGuard,
}

impl Fixture {
    fn new() -> Self {
        let dir = scratch_root();
        fs::write(
            dir.path().join("businesses/corner_cafe.yaml"),
            business(120),
        )
        .unwrap();
        let store = Arc::new(ConfigStore::load(dir.path()).unwrap());
        let guard = store.spawn_watcher().unwrap();
        Fixture {
            dir,
            store,
            _guard: guard,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn price(&self) -> Option<u32> {
        let snap = self.store.current(ID)?;
        Some(snap.business.menu.item("coffee")?.price_inr)
    }

    fn rejected(&self) -> Option<Vec<String>> {
        let h = self.store.health();
        let b = h.businesses.into_iter().find(|b| b.id == ID)?;
        b.last_rejected
            .map(|r| r.errors.iter().map(ToString::to_string).collect())
    }
}

/// Polls `cond` for up to 20 s (CI machines can be slow; the benchmark measures speed).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn rename_over_goes_live() {
    let f = Fixture::new();
    assert_eq!(f.price(), Some(120));
    let tmp = f.path("businesses/.corner_cafe.yaml.swp");
    fs::write(&tmp, business(130)).unwrap();
    fs::rename(&tmp, f.path("businesses/corner_cafe.yaml")).unwrap();
    eventually("price 130 after rename-over", || f.price() == Some(130));
    assert_eq!(f.rejected(), None);
}

#[test]
fn truncate_then_write_goes_live() {
    let f = Fixture::new();
    let path = f.path("businesses/corner_cafe.yaml");
    {
        use std::io::Write;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        file.flush().unwrap();
        file.sync_all().unwrap();
        // Give the watcher a chance to see the empty file on its own.
        std::thread::sleep(Duration::from_millis(250));
        file.write_all(business(140).as_bytes()).unwrap();
    }
    eventually("price 140 after truncate+write", || f.price() == Some(140));
    // The transient empty file may have been rejected, but the final state is clean.
    eventually("no rejected edit", || f.rejected().is_none());
}

#[test]
fn burst_of_saves_ends_with_last_content() {
    let f = Fixture::new();
    let path = f.path("businesses/corner_cafe.yaml");
    for price in 150..170 {
        fs::write(&path, business(price)).unwrap();
    }
    eventually("price 169 after a burst", || f.price() == Some(169));
    assert_eq!(f.rejected(), None);
}

#[test]
fn invalid_edit_keeps_old_version_and_fix_clears_it() {
    let f = Fixture::new();
    let before = f.store.current(ID).unwrap();
    let path = f.path("businesses/corner_cafe.yaml");
    fs::write(&path, business(120).replace("capacity: 20", "capacity: -5")).unwrap();
    eventually("rejected edit recorded", || f.rejected().is_some());
    let errors = f.rejected().unwrap();
    assert_eq!(
        errors,
        vec![
            "businesses/corner_cafe.yaml:20:13 /reservations/capacity: -5 is too small; it must be at least 1"
                .to_string()
        ]
    );
    // The old version keeps serving new conversations.
    let live = f.store.current(ID).unwrap();
    assert!(Arc::ptr_eq(&before, &live));
    assert!(!f.store.health().ok);

    fs::write(&path, business(125)).unwrap();
    eventually("fixed version live", || f.price() == Some(125));
    eventually("rejection cleared", || f.rejected().is_none());
    assert!(f.store.health().ok);
}

#[test]
fn in_flight_conversation_keeps_its_snapshot() {
    let f = Fixture::new();
    let conversation = f.store.current(ID).unwrap();
    fs::write(f.path("businesses/corner_cafe.yaml"), business(180)).unwrap();
    eventually("new version live", || f.price() == Some(180));
    assert_eq!(
        conversation.business.menu.item("coffee").unwrap().price_inr,
        120
    );
    assert_ne!(conversation.version, f.store.current(ID).unwrap().version);
}

#[test]
fn new_business_goes_live_and_deleted_one_is_removed() {
    let f = Fixture::new();
    let second = business(120)
        .replace("id: corner_cafe", "id: second_cafe")
        .replace("Corner Cafe", "Second Cafe");
    fs::write(f.path("businesses/second_cafe.yaml"), second).unwrap();
    eventually("second business live", || {
        f.store.current("second_cafe").is_some()
    });
    let held = f.store.current("second_cafe").unwrap();
    fs::remove_file(f.path("businesses/second_cafe.yaml")).unwrap();
    eventually("second business removed", || {
        f.store.current("second_cafe").is_none()
    });
    assert!(
        f.store
            .health()
            .businesses
            .iter()
            .all(|b| b.id != "second_cafe")
    );
    // A conversation that already held it still can finish.
    assert_eq!(held.business.id, "second_cafe");
    assert!(f.store.current(ID).is_some());
}

#[test]
fn editing_a_flow_or_plugin_changes_the_version() {
    let f = Fixture::new();
    let v1 = f.store.current(ID).unwrap().version.clone();
    let flow = f.path("flows/greeting.yaml");
    let text = fs::read_to_string(&flow).unwrap();
    fs::write(&flow, text.replace("good evening", "good afternoon")).unwrap();
    eventually("version changed by flow edit", || {
        f.store.current(ID).unwrap().version != v1
    });
    // A broken flow is an invalid edit for every business that uses it.
    let v2 = f.store.current(ID).unwrap().version.clone();
    fs::write(&flow, text.replace("say: greeting", "say: 42")).unwrap();
    eventually("flow error attributed", || f.rejected().is_some());
    assert_eq!(f.store.current(ID).unwrap().version, v2);
    assert!(f.rejected().unwrap()[0].starts_with("flows/greeting.yaml:"));
}

#[test]
fn recreated_directory_is_watched_again() {
    let f = Fixture::new();
    let dir = f.path("businesses");
    fs::rename(&dir, f.path("businesses_old")).unwrap();
    eventually("business gone with its directory", || {
        f.store.current(ID).is_none()
    });
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("corner_cafe.yaml"), business(190)).unwrap();
    eventually("business back", || f.price() == Some(190));
    // Edits inside the new directory are seen too.
    std::thread::sleep(Duration::from_millis(50));
    fs::write(dir.join("corner_cafe.yaml"), business(191)).unwrap();
    eventually("edit in recreated directory", || f.price() == Some(191));
}

#[test]
fn reload_now_without_watcher() {
    let dir = scratch_root();
    let path = dir.path().join("businesses/corner_cafe.yaml");
    fs::write(&path, business(120)).unwrap();
    let store = ConfigStore::load(dir.path()).unwrap();
    let unchanged = store.reload_now();
    assert_eq!(unchanged, Default::default(), "same files, same snapshot");
    fs::write(&path, business(121)).unwrap();
    assert_eq!(store.reload_now().updated, vec![ID.to_string()]);
    fs::write(&path, "id: [").unwrap();
    assert_eq!(store.reload_now().rejected, vec![ID.to_string()]);
    assert_eq!(
        store
            .current(ID)
            .unwrap()
            .business
            .menu
            .item("coffee")
            .unwrap()
            .price_inr,
        121
    );
    let json = serde_json::to_value(store.health()).unwrap();
    assert_eq!(json["businesses"][0]["id"], ID);
    assert!(json["businesses"][0]["last_rejected"]["errors"][0]["line"].is_number());
}

#[test]
fn startup_serves_valid_businesses_when_one_is_broken() {
    let dir = scratch_root();
    fs::write(
        dir.path().join("businesses/corner_cafe.yaml"),
        business(120),
    )
    .unwrap();
    fs::write(
        dir.path().join("businesses/broken_cafe.yaml"),
        business(120)
            .replace("id: corner_cafe", "id: broken_cafe")
            .replace("09:00", "9am"),
    )
    .unwrap();
    let store = ConfigStore::load(dir.path()).unwrap();
    assert!(store.current(ID).is_some());
    assert!(store.current("broken_cafe").is_none());
    let health = store.health();
    let broken = health
        .businesses
        .iter()
        .find(|b| b.id == "broken_cafe")
        .unwrap();
    assert!(broken.live.is_none());
    assert!(!broken.last_rejected.as_ref().unwrap().errors.is_empty());

    // With nothing valid, startup fails with every error.
    fs::remove_file(dir.path().join("businesses/corner_cafe.yaml")).unwrap();
    let errors = ConfigStore::load(dir.path()).unwrap_err();
    assert!(
        errors
            .iter()
            .all(|e| e.file == "businesses/broken_cafe.yaml")
    );
}

#[test]
fn plugin_the_sandbox_refuses_is_rejected_and_the_last_good_version_stays() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("flows"), &dir.path().join("flows"));
    fs::create_dir_all(dir.path().join("plugins")).unwrap();
    fs::create_dir_all(dir.path().join("businesses")).unwrap();
    let good = "fn before_booking(reservation) {\n    #{ allow: true }\n}\n";
    let plugin = dir.path().join("plugins/party_rules.rhai");
    fs::write(&plugin, good).unwrap();
    fs::write(
        dir.path().join("businesses/corner_cafe.yaml"),
        business(120).replace(
            "flows: [greeting, goodbye, fallback]",
            "flows: [greeting, goodbye, fallback]\nplugins: [party_rules]",
        ),
    )
    .unwrap();
    let store = ConfigStore::load(dir.path()).unwrap();
    assert!(
        store
            .current(ID)
            .unwrap()
            .plugins
            .contains_key("party_rules")
    );
    // Valid Rhai, refused by the sandbox: rejected like a syntax error, old version live.
    fs::write(
        &plugin,
        "fn before_booking(reservation) {\n    eval(\"#{ allow: true }\")\n}\n",
    )
    .unwrap();
    assert_eq!(store.reload_now().rejected, vec![ID.to_string()]);
    assert_eq!(
        store.current(ID).unwrap().plugins["party_rules"].source,
        good
    );
    let h = store.health();
    let errors: Vec<String> = h.businesses[0]
        .last_rejected
        .as_ref()
        .unwrap()
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("plugins/party_rules.rhai:2:5: Rhai sandbox: `eval` is not allowed"),
        "{errors:?}"
    );
}

/// A closure dated in the past is not an error: the business goes live, `/health/config`
/// (this struct, serialized) stays `ok` and lists the stale date as a warning with its line.
#[test]
fn a_past_dated_closure_is_a_warning_in_health_not_a_rejection() {
    let dir = scratch_root();
    let text = business(120).replacen(
        "hours:\n",
        "exceptions:\n  - { date: \"2021-01-26\", closed: true }\nhours:\n",
        1,
    );
    fs::write(dir.path().join("businesses/corner_cafe.yaml"), text).unwrap();
    let store = ConfigStore::load(dir.path()).unwrap();
    assert!(store.current(ID).is_some());
    let health = store.health();
    assert!(health.ok, "{health:#?}");
    let warnings = &health.businesses[0].warnings;
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].pointer, "/exceptions/0/date");
    assert!(
        warnings[0]
            .message
            .starts_with("warning: this closure on 2021-01-26 is in the past"),
        "{warnings:#?}"
    );
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(
        json["businesses"][0]["warnings"][0]["pointer"],
        "/exceptions/0/date"
    );
}
