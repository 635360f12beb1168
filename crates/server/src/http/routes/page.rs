//! The upload page at `/`: HTML and CSS kept here, the script built from
//! `web/page/main.ts` (`npm run build`); all embedded in the binary, so the
//! one-command start shows it.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../../assets/index.html");
const APP: &str = include_str!("../../../assets/app.js");
const STYLE: &str = include_str!("../../../assets/style.css");

/// Scripts only from this origin; bytes go to the store (another origin, over
/// http or https) and thumbnails come from it. No framing.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     connect-src 'self' http: https:; img-src 'self' http: https: data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Small files, and a new binary may bring new ones: revalidate each time.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The printed link carries a token until the page moves it out of the URL.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

pub async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP)
}

pub async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}
