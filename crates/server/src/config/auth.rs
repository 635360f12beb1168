//! `[auth]`: whose tokens uploadgate trusts, and what they must say.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::units;

/// Claims required of HS256 tokens (signed with `jwt_secret`) besides `sub`
/// and `exp` (`nbf` is always honoured when present), and the identity
/// providers whose own tokens are trusted too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Required `iss`; tokens `uploadgate token` mints carry it.
    pub issuer: Option<String>,
    /// Accepted `aud` values (one must match); empty: `aud` is not checked.
    /// Minted tokens carry the first.
    pub audiences: Vec<String>,
    /// `[[auth.issuers]]`: OpenID providers whose access tokens authenticate users.
    pub issuers: Vec<IssuerConfig>,
}

/// An identity provider whose tokens are verified with the keys it publishes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` its tokens carry; its keys are found through OpenID discovery
    /// (`{issuer}/.well-known/openid-configuration`) unless `jwks_url` says.
    pub issuer: String,
    /// Where its JSON Web Key Set is, when discovery is not used.
    #[serde(default)]
    pub jwks_url: Option<Url>,
    /// Accepted audiences; one must match.
    pub audiences: Vec<String>,
    /// The claim that holds the audience: `aud`, or what a provider puts
    /// there instead (`client_id` in AWS Cognito's access tokens, `azp` in
    /// Clerk's session tokens).
    #[serde(default = "default_audience_claim")]
    pub audience_claim: String,
    /// Signature algorithms accepted from it (never an HMAC: its keys are public).
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// The claim that names the user: a top-level claim (`sub`, or a
    /// namespaced one such as `https://example.com/user_id`), or a dotted
    /// path into nested objects (`app_metadata.user_id`).
    #[serde(default = "default_user_claim")]
    pub user_claim: String,
    /// Clock difference allowed on `exp` and `nbf`.
    #[serde(default = "default_leeway", deserialize_with = "units::duration")]
    pub leeway: Duration,
    /// How often its keys are fetched again when its answer names no
    /// lifetime (`Cache-Control: max-age`).
    #[serde(default = "default_refresh", deserialize_with = "units::duration")]
    pub refresh: Duration,
}

/// Algorithms an issuer may be allowed, by their JWT names.
pub const ASYMMETRIC_ALGORITHMS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "ES256".into()]
}

fn default_audience_claim() -> String {
    "aud".into()
}

fn default_user_claim() -> String {
    "sub".into()
}

fn default_leeway() -> Duration {
    Duration::from_secs(30)
}

fn default_refresh() -> Duration {
    Duration::from_secs(3600)
}

impl AuthConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        for (i, issuer) in self.issuers.iter().enumerate() {
            let at = |msg: String| format!("auth.issuers[{i}] ({}): {msg}", issuer.issuer);
            let url = Url::parse(&issuer.issuer)
                .map_err(|e| at(format!("issuer must be a URL ({e})")))?;
            if !secure_url(&url) {
                return Err(at(
                    "issuer must be an https URL (http only on loopback)".into()
                ));
            }
            if issuer.jwks_url.as_ref().is_some_and(|u| !secure_url(u)) {
                return Err(at(
                    "jwks_url must be an https URL (http only on loopback)".into()
                ));
            }
            if issuer.leeway > Duration::from_secs(300) {
                return Err(at("leeway must be at most 5m".into()));
            }
            if issuer.audiences.is_empty() {
                // An access token for another application of the same
                // provider would pass.
                return Err(at("audiences must list at least one accepted aud".into()));
            }
            if issuer.algorithms.is_empty() {
                return Err(at("algorithms must list at least one".into()));
            }
            for algorithm in &issuer.algorithms {
                if !ASYMMETRIC_ALGORITHMS.contains(&algorithm.as_str()) {
                    return Err(at(format!(
                        "algorithm {algorithm:?} is not one of {}",
                        ASYMMETRIC_ALGORITHMS.join(", ")
                    )));
                }
            }
            if issuer.refresh < Duration::from_secs(1) {
                return Err(at("refresh must be at least 1s".into()));
            }
            if issuer.audience_claim.is_empty() {
                return Err(at("audience_claim must name a claim".into()));
            }
            if issuer.user_claim.is_empty() {
                return Err(at("user_claim must name a claim".into()));
            }
            if self.issuer.as_deref() == Some(issuer.issuer.as_str())
                || self.issuers[..i].iter().any(|o| o.issuer == issuer.issuer)
            {
                return Err(at(
                    "an issuer is listed once, and not also as auth.issuer".into()
                ));
            }
        }
        Ok(())
    }
}

/// Whether keys may be fetched from `url`: https, or plain http on loopback
/// only (a network in between could otherwise hand uploadgate its own keys).
pub fn secure_url(url: &Url) -> bool {
    url.scheme() == "https"
        || (url.scheme() == "http"
            && match url.host() {
                Some(url::Host::Domain(host)) => host == "localhost",
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_issuer(toml: &str) -> Result<(), String> {
        let issuer: IssuerConfig = toml::from_str(toml).map_err(|e| e.to_string())?;
        AuthConfig {
            issuers: vec![issuer],
            ..AuthConfig::default()
        }
        .validate()
    }

    #[test]
    fn issuers_are_refused_unless_safe_to_trust() {
        let base = "issuer = \"https://id.example\"\naudiences = [\"uploadgate\"]\n";
        assert_eq!(with_issuer(base), Ok(()));
        assert_eq!(
            with_issuer("issuer = \"http://127.0.0.1:4000\"\naudiences = [\"a\"]\n"),
            Ok(()),
            "plain http on loopback, for tests"
        );
        for (toml, why) in [
            (
                "issuer = \"http://id.example\"\naudiences = [\"a\"]\n",
                "https",
            ),
            (
                &format!("{base}jwks_url = \"http://id.example/keys\"\n") as &str,
                "jwks_url must be an https",
            ),
            (
                "issuer = \"https://id.example\"\naudiences = []\n",
                "audiences",
            ),
            (&format!("{base}algorithms = [\"HS256\"]\n"), "HS256"),
            (&format!("{base}algorithms = [\"none\"]\n"), "none"),
            (&format!("{base}leeway = \"1h\"\n"), "leeway"),
            (&format!("{base}refresh = \"0s\"\n"), "refresh"),
            (&format!("{base}user_claim = \"\"\n"), "user_claim"),
        ] {
            let refused = with_issuer(toml).expect_err(toml);
            assert!(refused.contains(why), "{refused:?} should say {why:?}");
        }
        assert!(
            with_issuer("audiences = [\"a\"]\n").is_err(),
            "an issuer is required"
        );
    }
}
