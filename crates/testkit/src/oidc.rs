//! A real OpenID provider for identity tests: `oidc-provider` (certified,
//! from the npm registry) on loopback, started through
//! `scripts/engines/oidc`, issuing RS256 and ES256 JWT access tokens for the
//! audience `uploadgate`. Its private keys are readable here, so tests can
//! also sign the tokens a provider never would (another `iss`, `nbf` in the
//! future, the public key used as an HMAC secret).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use uploadgate_server::config::auth::IssuerConfig;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/engines/oidc");

/// The audience the provider's access tokens carry.
pub const AUDIENCE: &str = "uploadgate";

/// Its clients (client credentials grant): tokens signed with RS256 or ES256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Rs256,
    Es256,
}

impl Client {
    /// The client id, which is also the `sub` of its tokens.
    pub fn id(self) -> &'static str {
        match self {
            Client::Rs256 => "app-rs",
            Client::Es256 => "app-es",
        }
    }
}

/// One provider, stopped when dropped.
#[derive(Debug)]
pub struct Oidc {
    dir: tempfile::TempDir,
    port: u16,
    http: reqwest::Client,
}

impl Oidc {
    /// A provider, running.
    pub fn start() -> Oidc {
        let oidc = Oidc::stopped();
        oidc.up();
        oidc
    }

    /// A provider that is not running yet (`up` starts it): its issuer URL
    /// is fixed, so uploadgate can be told of it while it is down.
    pub fn stopped() -> Oidc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        Oidc {
            dir: tempfile::tempdir().expect("tempdir"),
            port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                // The provider restarts on its port: no connection outlives it.
                .pool_max_idle_per_host(0)
                .build()
                .expect("client"),
        }
    }

    fn script(&self, action: &str, port: bool) {
        let mut command = Command::new(SCRIPT);
        command.arg(action).arg(self.dir.path());
        if port {
            command.arg(self.port.to_string());
        }
        let out = command.output().expect("run scripts/engines/oidc");
        assert!(
            out.status.success(),
            "scripts/engines/oidc {action}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts it (again), on its port, with the keys it had.
    pub fn up(&self) {
        self.script("start", true);
    }

    pub fn down(&self) {
        self.script("stop", false);
    }

    /// Restarts it with new signing keys, the old ones still published.
    pub fn rotate(&self) {
        self.script("rotate", false);
    }

    /// Restarts it publishing only its newest keys.
    pub fn retire(&self) {
        self.script("retire", false);
    }

    /// Restarts it with new key material under the key ids it had, as a
    /// provider replacing a compromised key in place does.
    pub fn rekey(&self) {
        self.script("rekey", false);
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `[[auth.issuers]]` for it, found by discovery.
    pub fn issuer_config(&self) -> IssuerConfig {
        toml_issuer(&format!(
            "issuer = {:?}\naudiences = [{AUDIENCE:?}]\n",
            self.issuer()
        ))
    }

    /// An access token from `client`, as an application's browser holds one.
    pub async fn token(&self, client: Client) -> String {
        let response = self
            .http
            .post(format!("{}/token", self.issuer()))
            .basic_auth(client.id(), Some(format!("{}-secret", client.id())))
            .form(&[("grant_type", "client_credentials"), ("scope", "upload")])
            .send()
            .await
            .expect("token request");
        assert!(
            response.status().is_success(),
            "token: {}",
            response.status()
        );
        let body: Value = response.json().await.expect("json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// How many times its key set was fetched.
    pub async fn jwks_fetches(&self) -> u64 {
        let body: Value = self
            .http
            .get(format!("{}/test/jwks-fetches", self.issuer()))
            .send()
            .await
            .expect("fetch count")
            .json()
            .await
            .expect("json");
        body["fetches"].as_u64().expect("a count")
    }

    fn keys(&self) -> Value {
        let path: PathBuf = self.dir.path().join("keys.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("keys.json")).expect("json")
    }

    /// The key id the provider signs `alg` tokens with now.
    pub fn kid(&self, alg: Algorithm) -> String {
        let wanted = format!("{alg:?}");
        self.keys()["jwks"]
            .as_array()
            .expect("jwks")
            .iter()
            .find(|k| k["alg"] == wanted.as_str())
            .and_then(|k| k["kid"].as_str())
            .expect("a key of that algorithm")
            .to_owned()
    }

    /// The provider's RSA public key, PEM: what an algorithm-confusion attack
    /// uses as an HMAC secret.
    pub fn rsa_public_pem(&self) -> String {
        self.keys()["rsaPublicPem"]
            .as_str()
            .expect("pem")
            .to_owned()
    }

    /// `claims` signed with the provider's current key for `alg` (RS256 or
    /// ES256), naming it by `kid`.
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        self.sign_as(alg, Some(self.kid(alg)), claims)
    }

    /// `claims` signed with the provider's key for `alg`, naming `kid`.
    pub fn sign_as(&self, alg: Algorithm, kid: Option<String>, claims: &Value) -> String {
        use base64::Engine as _;
        let der = |field: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(self.keys()[field].as_str().expect("der"))
                .expect("base64")
        };
        let key = match alg {
            Algorithm::RS256 => EncodingKey::from_rsa_der(&der("rsaPkcs1Der")),
            Algorithm::ES256 => EncodingKey::from_ec_der(&der("ecPkcs8Der")),
            other => panic!("the provider has no {other:?} key"),
        };
        let mut header = Header::new(alg);
        header.kid = kid;
        jsonwebtoken::encode(&header, claims, &key).expect("sign")
    }

    /// Valid claims for `sub` from this provider, expiring in ten minutes.
    pub fn claims(&self, sub: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        serde_json::json!({
            "iss": self.issuer(), "aud": AUDIENCE, "sub": sub,
            "iat": now, "exp": now + 600,
        })
    }
}

/// An `[[auth.issuers]]` entry from its TOML text.
pub fn toml_issuer(text: &str) -> IssuerConfig {
    toml::from_str(text).expect("an issuer")
}

impl Drop for Oidc {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT)
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}
