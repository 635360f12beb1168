//! The store: reachable with these credentials, the bucket there, a presigned
//! upload landing (a probe object, removed again), each allowed origin let
//! through by CORS as a browser would be, and encryption applied where a
//! profile asks for it.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use uuid::Uuid;

use super::{Report, bounded, describe, http_client};
use crate::config::{Config, DEFAULT_PROFILE};
use crate::keys::STAGING_PREFIX;
use crate::storage::{ObjectStore, PresignedPut, UploadTarget};

const PROBE: &[u8] = b"uploadgate check: this object is removed at once\n";
const PROBE_TYPE: &str = "text/plain";
/// The origin the CORS check sends when every origin is allowed.
const ANY_ORIGIN: &str = "https://any-origin.example";

pub(super) async fn check(
    report: &mut Report,
    config: &Config,
    store: &dyn ObjectStore,
    origins: &[String],
) {
    let reached = bounded(async {
        store.ping().await.map_err(|err| err.to_string())?;
        Ok(format!("{} answers", store.location()))
    })
    .await;
    let reachable = reached.is_ok();
    report.push("store", reached);
    if !reachable {
        // Everything below would fail for the same reason.
        return;
    }
    probe(report, config, store, origins).await;
    encryption(report, config, store).await;
}

/// A presigned PUT of a probe object, sent once from each origin (the answer
/// must expose ETag to it), after a CORS preflight from that origin; then the
/// probe is read back and removed.
async fn probe(report: &mut Report, config: &Config, store: &dyn ObjectStore, origins: &[String]) {
    let key = format!(
        "{STAGING_PREFIX}uploadgate-check-{}",
        Uuid::now_v7().simple()
    );
    // A bucket may refuse unencrypted writes: ask for what uploads ask for.
    let sse = config.encryption(DEFAULT_PROFILE);
    let target = UploadTarget {
        key: &key,
        content_type: PROBE_TYPE,
        size: PROBE.len() as u64,
        min_size: PROBE.len() as u64,
        checksum_sha256: None,
        expires_in: Duration::from_secs(120),
        sse: sse.as_ref(),
    };
    let presigned = match bounded(async {
        store
            .presign_put(&target)
            .await
            .map_err(|err| err.to_string())
    })
    .await
    {
        Ok(presigned) => presigned,
        Err(reason) => {
            report.push(
                "store: presigned upload",
                Err(format!("cannot presign: {reason}")),
            );
            return;
        }
    };
    let http = http_client();
    let mut put = Err("no origin to send it from".to_owned());
    let mut cors = Vec::new();
    for allowed in origins {
        // `*` allows every origin: a browser sends a real one, so does the check.
        let origin = if allowed == "*" {
            ANY_ORIGIN
        } else {
            allowed.as_str()
        };
        let preflight = bounded(preflight(&http, &presigned, origin)).await;
        let sent = bounded(send(&http, &presigned, origin)).await;
        // A PUT that failed is reported once, below, not as a CORS failure.
        let hides_etag = matches!(sent, Ok(false));
        cors.push((
            allowed,
            preflight.and_then(|passed| {
                if hides_etag {
                    Err(
                        "the store's answer to a PUT does not expose ETag to this origin: \
                         browsers cannot read it to complete uploads in parts"
                            .to_owned(),
                    )
                } else {
                    Ok(passed)
                }
            }),
        ));
        if put.is_err() {
            put = sent.map(|_| ());
        }
    }
    let landed = match put {
        Ok(()) => bounded(read_back_and_remove(store, &key)).await,
        Err(reason) => Err(reason),
    };
    report.push("store: presigned upload", landed);
    for (origin, outcome) in cors {
        report.push(format!("store: CORS for {origin}"), outcome);
    }
    // Whatever happened above, the probe must not stay (a failed PUT leaves none).
    let _ = store.delete(&key).await;
}

/// A browser's preflight of the presigned PUT from `origin`.
async fn preflight(
    http: &reqwest::Client,
    presigned: &PresignedPut,
    origin: &str,
) -> Result<String, String> {
    // Browsers set Content-Length themselves and never ask to send it.
    let asked: Vec<&str> = presigned
        .headers
        .keys()
        .map(String::as_str)
        .filter(|name| !name.eq_ignore_ascii_case("content-length"))
        .collect();
    let response = http
        .request(reqwest::Method::OPTIONS, &presigned.url)
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", asked.join(","))
        .send()
        .await
        .map_err(|err| format!("the preflight failed: {}", describe(&err)))?;
    let headers = response.headers();
    let allowed_origin = header(headers, "access-control-allow-origin");
    if !response.status().is_success() || !(allowed_origin == "*" || allowed_origin == origin) {
        return Err(format!(
            "a browser's preflight from this origin is refused ({}); run `uploadgate bucket setup` \
             or add the origin to the store's CORS rules (the bucket's; on Azure, the account's)",
            response.status()
        ));
    }
    let methods = header(headers, "access-control-allow-methods");
    if !listed(&methods, "PUT") {
        return Err(format!("the preflight allows {methods:?}, not PUT"));
    }
    let allowed_headers = header(headers, "access-control-allow-headers");
    if let Some(missing) = asked.iter().find(|name| !listed(&allowed_headers, name)) {
        return Err(format!(
            "the preflight does not allow the {missing} header the upload sends"
        ));
    }
    Ok("a browser's preflight and PUT from this origin are allowed, ETag exposed".to_owned())
}

/// The presigned PUT of the probe, as a browser at `origin` sends it; whether
/// the answer lets that origin read ETag.
async fn send(
    http: &reqwest::Client,
    presigned: &PresignedPut,
    origin: &str,
) -> Result<bool, String> {
    let mut request = http
        .put(&presigned.url)
        .header("origin", origin)
        .body(PROBE);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    let response = request
        .send()
        .await
        .map_err(|err| format!("the presigned PUT failed: {}", describe(&err)))?;
    let status = response.status();
    let exposed = header(response.headers(), "access-control-expose-headers");
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let code = between(&body, "<Code>", "</Code>").unwrap_or("no error code");
        return Err(format!(
            "the store refused a presigned PUT: {status} ({code})"
        ));
    }
    Ok(listed(&exposed, "etag"))
}

async fn read_back_and_remove(store: &dyn ObjectStore, key: &str) -> Result<String, String> {
    let head = store.head(key).await.map_err(|err| err.to_string())?;
    match head {
        Some(head) if head.size == PROBE.len() as u64 => {}
        Some(head) => {
            return Err(format!(
                "the probe landed with {} bytes, not the {} sent",
                head.size,
                PROBE.len()
            ));
        }
        None => return Err("the store accepted the probe but does not hold it".to_owned()),
    }
    store
        .delete(key)
        .await
        .map_err(|err| format!("cannot remove the probe object: {err}"))?;
    match store.head(key).await.map_err(|err| err.to_string())? {
        None => Ok(format!(
            "a presigned PUT of a {}-byte probe landed and was removed",
            PROBE.len()
        )),
        Some(_) => Err("the probe object is still there after its deletion".to_owned()),
    }
}

/// Each encryption profiles ask for, written on a probe object and read back.
async fn encryption(report: &mut Report, config: &Config, store: &dyn ObjectStore) {
    for (sse, names) in config.encryptions() {
        let outcome = bounded(async {
            match store.applies_sse(&sse).await {
                Ok(true) => Ok(format!("applied (profiles {})", names.join(", "))),
                Ok(false) => Err(format!(
                    "profiles {} ask for it, but the store ignored or refused it on a probe object",
                    names.join(", ")
                )),
                Err(err) => Err(err.to_string()),
            }
        })
        .await;
        report.push(format!("store: encryption {}", sse.algorithm()), outcome);
    }
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value: &HeaderValue| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Whether a comma-separated CORS list names `item` (or is `*`).
fn listed(list: &str, item: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|entry| entry == "*" || entry.eq_ignore_ascii_case(item))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_lists_are_read_as_browsers_read_them() {
        assert!(listed("GET, PUT,POST", "PUT"));
        assert!(listed("*", "content-type"));
        assert!(listed("Content-Type,x-amz-checksum-sha256", "content-type"));
        assert!(!listed("GET,POST", "PUT"));
        assert!(!listed("", "etag"));
        assert_eq!(
            between(
                "<Error><Code>AccessDenied</Code></Error>",
                "<Code>",
                "</Code>"
            ),
            Some("AccessDenied")
        );
    }
}
