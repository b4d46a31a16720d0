//! The repository's own businesses/, flows/ and plugins/ must always load cleanly, and the
//! Himalayan Kitchen file must say exactly what the customer told us.

use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime, Weekday};
use vartalaap_config::model::business::{Diet, LargePartyHandling, Spice};
use vartalaap_config::{ConfigStore, Lang, load_root, validate_paths};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn t(s: &str) -> NaiveTime {
    NaiveTime::parse_from_str(s, "%H:%M").unwrap()
}

#[test]
fn repository_config_is_valid() {
    let report = load_root(&repo_root());
    let diags = report.all_diagnostics();
    assert!(
        diags.is_empty(),
        "repository config has errors:\n{}",
        diags
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(validate_paths(&repo_root(), &[]).is_empty());
}

#[test]
fn himalayan_kitchen_facts() {
    let store = ConfigStore::load(repo_root()).unwrap_or_else(|e| panic!("{e:#?}"));
    let snap = store.current("himalayan_kitchen").expect("live");
    let b = &snap.business;
    assert_eq!(b.name.en, "Himalayan Kitchen");
    assert_eq!(b.name.hi, "हिमालयन किचन");
    assert_eq!(b.timezone, chrono_tz::Asia::Kolkata);
    assert_eq!(b.phone, "+91 135 271 0000");
    assert_eq!(b.address.street, "14 Rajpur Road");
    assert_eq!(b.address.postal_code, "248001");
    assert_eq!(b.languages.default, Lang::Hi);
    assert_eq!(
        b.languages.supported,
        vec![Lang::Hi, Lang::En, Lang::Hinglish]
    );

    assert!(b.hours.on(Weekday::Mon).is_empty());
    for day in [
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ] {
        let w = b.hours.on(day);
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].open, w[0].close, w[0].last_seating),
            (t("12:00"), t("15:30"), t("14:45"))
        );
        assert_eq!(
            (w[1].open, w[1].close, w[1].last_seating),
            (t("19:00"), t("23:00"), t("22:00"))
        );
    }
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let nye = b.windows_on(d("2026-12-31"));
    assert_eq!(
        (nye[1].open, nye[1].close, nye[1].last_seating),
        (t("19:00"), t("23:59"), t("23:00"))
    );
    assert!(b.windows_on(d("2027-01-01")).is_empty());
    let republic = b.windows_on(d("2027-01-26"));
    assert_eq!(republic.len(), 1);
    assert_eq!(republic[0].open, t("12:00"));
    // 2027-01-04 is a Monday.
    assert!(b.windows_on(d("2027-01-04")).is_empty());

    let r = &b.reservations;
    assert_eq!(
        (
            r.slot_minutes,
            r.hold_minutes,
            r.capacity,
            r.party_min,
            r.party_max,
            r.max_phone_party
        ),
        (30, 90, 40, 1, 20, 10)
    );
    assert_eq!(r.large_party, LargePartyHandling::Callback);
    assert_eq!(
        (r.min_lead_minutes, r.max_days_ahead, r.grace_minutes),
        (60, 30, 15)
    );

    let prices: Vec<(&str, u32)> = b
        .menu
        .items()
        .map(|i| (i.id.as_str(), i.price_inr))
        .collect();
    assert_eq!(
        prices,
        vec![
            ("veg_steamed_momos", 180),
            ("paneer_momos", 200),
            ("chicken_steamed_momos", 220),
            ("chicken_fried_momos", 240),
            ("jhol_momos", 250),
            ("veg_thukpa", 190),
            ("chicken_thukpa", 240),
            ("thenthuk", 260),
            ("shaphaley", 250),
            ("aloo_dum", 160),
            ("dal_bhat_thali", 280),
            ("mutton_thali", 420),
            ("chilli_chicken", 290),
            ("gobhi_manchurian", 210),
            ("chilli_paneer", 260),
            ("sel_roti_kheer", 150),
            ("gulab_jamun", 90),
            ("butter_tea", 90),
            ("masala_chai", 60),
            ("fresh_lime_soda", 80),
        ]
    );
    let jain: Vec<&str> = b
        .menu
        .items()
        .filter(|i| i.jain_on_request)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(jain, vec!["veg_steamed_momos", "dal_bhat_thali"]);
    let hot: Vec<&str> = b
        .menu
        .items()
        .filter(|i| i.spice == Spice::Hot)
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(hot, vec!["chilli_chicken", "chilli_paneer"]);
    assert_eq!(b.menu.item("jhol_momos").unwrap().spice, Spice::Medium);
    assert_eq!(b.menu.item("jhol_momos").unwrap().diet, Some(Diet::NonVeg));
    let dairy: Vec<&str> = b
        .menu
        .items()
        .filter(|i| i.allergens.iter().any(|a| a == "dairy"))
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        dairy,
        vec![
            "paneer_momos",
            "chilli_paneer",
            "sel_roti_kheer",
            "butter_tea"
        ]
    );
    let gluten: Vec<&str> = b
        .menu
        .items()
        .filter(|i| i.allergens.iter().any(|a| a == "gluten"))
        .map(|i| i.id.as_str())
        .collect();
    assert_eq!(
        gluten.len(),
        5,
        "every momo has a gluten wrapper: {gluten:?}"
    );

    let faq_ids: Vec<&str> = b.faqs.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        faq_ids,
        vec![
            "alcohol",
            "parking",
            "accessibility",
            "children",
            "birthday_cake",
            "payment",
            "takeaway_delivery"
        ]
    );
    assert!(b.whatsapp.enabled && b.whatsapp.requires_consent);
    assert_eq!(b.retention_days, 90);
    assert_eq!(snap.flows.len(), 11);
    assert_eq!(snap.plugins.len(), 3);
    assert_eq!(snap.version.len(), 64);

    // Templates render with the documented context.
    let text = b
        .prompts
        .render(
            Lang::En,
            "hours_info",
            serde_json::json!({ "business": snap.document }),
        )
        .unwrap();
    assert_eq!(
        text,
        "We're open Tuesday to Sunday, lunch 12:00 to 15:30 and dinner 19:00 to 23:00. We're closed on Mondays."
    );
}

#[test]
fn a_clinic_s_treatments_are_not_food() {
    let store = ConfigStore::load(repo_root()).expect("valid repository configuration");
    let snap = store.current("muskaan_dental").expect("live");
    let menu = &snap.business.menu;
    let check_up = menu
        .item("check_up")
        .expect("check-up is on the price list");
    assert_eq!(check_up.price_inr, 300);
    assert_eq!(check_up.diet, None, "a treatment has no dietary class");
    assert!(menu.items().all(|i| i.diet.is_none()));
}
