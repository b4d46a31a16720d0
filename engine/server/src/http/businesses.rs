//! `GET /api/businesses`: what the admin needs to know about each live business — its names,
//! languages (Hindi labels for a Hindi-first business), time zone and booking limits (the
//! dashboard's capacity line) — taken from the live configuration, so it is always the
//! version that answers calls.

use serde::Serialize;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

use super::{AppState, with_auth};

#[derive(Serialize)]
struct Names {
    en: String,
    hi: String,
}

#[derive(Serialize)]
struct Languages {
    default: vartalaap_config::model::Lang,
    supported: Vec<vartalaap_config::model::Lang>,
}

#[derive(Serialize)]
struct Limits {
    slot_minutes: u32,
    hold_minutes: u32,
    capacity: u32,
    party_min: u32,
    party_max: u32,
}

#[derive(Serialize)]
struct BusinessSummary {
    id: String,
    name: Names,
    languages: Languages,
    timezone: String,
    reservations: Limits,
    config_version: String,
}

#[derive(Serialize)]
struct BusinessList {
    items: Vec<BusinessSummary>,
}

/// `GET /api/businesses`
pub fn route(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = state.clone();
    warp::path!("api" / "businesses")
        .and(warp::get())
        .and(with_auth(warp::any().map(move || s.clone())))
        .map(move || {
            let mut items: Vec<BusinessSummary> = state
                .config
                .list()
                .iter()
                .map(|snapshot| {
                    let b = &snapshot.business;
                    let policy = &b.reservations;
                    BusinessSummary {
                        id: b.id.clone(),
                        name: Names {
                            en: b.name.en.clone(),
                            hi: b.name.hi.clone(),
                        },
                        languages: Languages {
                            default: b.languages.default,
                            supported: b.languages.supported.clone(),
                        },
                        timezone: b.timezone.name().to_string(),
                        reservations: Limits {
                            slot_minutes: policy.slot_minutes,
                            hold_minutes: policy.hold_minutes,
                            capacity: policy.capacity,
                            party_min: policy.party_min,
                            party_max: policy.party_max,
                        },
                        config_version: snapshot.version.clone(),
                    }
                })
                .collect();
            items.sort_by(|a, b| a.id.cmp(&b.id));
            warp::reply::json(&BusinessList { items }).into_response()
        })
}
