//! Staff edits of stored records, for the admin: working a callback request
//! (`PATCH /api/callbacks/{id}`) and correcting what is remembered about a caller
//! (`PUT /api/callers/{phone_hash}/preferences`).
//!
//! Status codes follow docs/API.md: 400 for a body the OpenAPI document does not allow (naming
//! the field), 404 for a record that does not exist.

use std::str::FromStr;

use bytes::Bytes;
use serde::Deserialize;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection};

use vartalaap_store::{CallbackStatus, CallbackUpdate, CallerPreferencesEdit, PhoneHash};

use super::api::{LANGUAGES, blocking, body, parse_json, reply_json};
use super::error::ApiError;
use super::{AppState, with_auth};

/// `PATCH /api/callbacks/{id}` and `PUT /api/callers/{phone_hash}/preferences`.
pub fn routes(state: AppState) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let s = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let update_callback = warp::path!("api" / "callbacks" / u64)
        .and(warp::patch())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(update_callback);
    let put_preferences = warp::path!("api" / "callers" / String / "preferences")
        .and(warp::put())
        .and(s())
        .and(with_auth(s()))
        .and(body())
        .and_then(put_preferences);
    update_callback.or(put_preferences).unify()
}

/// Body of `PATCH /api/callbacks/{id}`: at least one of the two, neither `null`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackPatch {
    #[serde(default, deserialize_with = "not_null")]
    status: Option<String>,
    /// Replaces the staff note; `""` clears it.
    #[serde(default, deserialize_with = "not_null")]
    note: Option<String>,
}

/// A field that may be left out but, when sent, must have a value (the document has no
/// `null` for it, so the server refuses one instead of reading it as "leave as it is").
fn not_null<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

async fn update_callback(id: u64, state: AppState, bytes: Bytes) -> Result<Response, Rejection> {
    let patch: CallbackPatch = parse_json(&bytes)?;
    if patch.status.is_none() && patch.note.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "send \"status\" (pending, contacted, booked or declined), \"note\", or both",
        )
        .into());
    }
    let status = match patch.status.as_deref() {
        None => None,
        Some(raw) => Some(CallbackStatus::from_str(raw).map_err(|_| {
            ApiError::field(
                "status",
                format!(
                    "status must be one of pending, contacted, booked, declined, found {raw:?}"
                ),
            )
        })?),
    };
    let update = CallbackUpdate {
        status,
        staff_note: patch.note,
    };
    let now = state.clock.now();
    let updated = blocking(&state, move |store| {
        Ok(store.update_callback(id, &update, now)?)
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &updated))
}

/// Body of `PUT /api/callers/{phone_hash}/preferences`: every editable field, `null` to clear.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreferencesBody {
    #[serde(deserialize_with = "present")]
    last_language: Option<String>,
    #[serde(deserialize_with = "present")]
    preferred_name: Option<String>,
    #[serde(deserialize_with = "present")]
    whatsapp_consent: Option<bool>,
}

/// A field that must be present but may be `null` (PUT replaces the whole editable record, so
/// a forgotten field must not silently clear what was stored).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}

async fn put_preferences(
    hash: String,
    state: AppState,
    bytes: Bytes,
) -> Result<Response, Rejection> {
    let hash = PhoneHash::parse(&hash).ok_or_else(|| {
        ApiError::field(
            "phone_hash",
            "phone_hash must be the 64-hex HMAC of the number, as listed on reservations",
        )
    })?;
    let body: PreferencesBody = parse_json(&bytes)?;
    if let Some(lang) = body.last_language.as_deref()
        && !LANGUAGES.contains(&lang)
    {
        return Err(ApiError::field(
            "last_language",
            format!("last_language must be one of hi, en, hinglish (or null), found {lang:?}"),
        )
        .into());
    }
    let edit = CallerPreferencesEdit {
        last_language: body.last_language,
        preferred_name: body.preferred_name,
        whatsapp_consent: body.whatsapp_consent,
    };
    let now = state.clock.now();
    let updated = blocking(&state, move |store| {
        store
            .edit_caller_preferences(&hash, &edit, now)
            .map_err(|e| match e {
                vartalaap_store::StoreError::NotFound { .. } => ApiError::not_found(
                    "no preferences stored for this caller; they are created by the caller's first call",
                ),
                other => other.into(),
            })
    })
    .await?;
    Ok(reply_json(StatusCode::OK, &updated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_callback_patch_refuses_null_and_unknown_fields() {
        let ok: CallbackPatch = parse_json(br#"{"note": "called"}"#).unwrap();
        assert_eq!((ok.status, ok.note.as_deref()), (None, Some("called")));
        for bad in [
            &br#"{"status": null}"#[..],
            br#"{"note": null, "status": "booked"}"#,
            br#"{"status": "booked", "staus": "x"}"#,
        ] {
            assert!(parse_json::<CallbackPatch>(bad).is_err());
        }
    }

    #[test]
    fn a_preferences_body_must_name_every_field() {
        let full =
            br#"{"last_language": null, "preferred_name": "Ravi", "whatsapp_consent": true}"#;
        let body: PreferencesBody = parse_json(full).unwrap();
        assert_eq!(body.preferred_name.as_deref(), Some("Ravi"));
        assert_eq!(body.last_language, None);
        let missing = br#"{"preferred_name": "Ravi", "whatsapp_consent": true}"#;
        let err = parse_json::<PreferencesBody>(missing).unwrap_err();
        assert!(err.message.contains("last_language"), "{}", err.message);
    }
}
