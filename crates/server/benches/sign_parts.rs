//! Server-side cost of signing a batch of 10,000 part URLs, which is what
//! `POST /v1/uploads/{id}/parts` does for a 10,000-part upload.
//!
//! Side by side in one run, on one thread: uploadgate's SigV4 signer (day
//! key cached), `aws-sigv4`'s presigner (key derived per URL), and the Azure
//! store's block URLs (`ObjectStore::presign_parts`: one SAS per blob, a URL
//! per block).
//! Run: `cargo bench --ignore-rust-version -p uploadgate-server --bench sign_parts`

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use uploadgate_server::secret::Secret;
use uploadgate_server::storage::signer::{Presign, Signer};
use uploadgate_server::storage::{AzureSettings, AzureStore, ObjectStore as _, PartTarget};

const PARTS: u32 = 10_000;
const ROUNDS: usize = 15;
const PART_SIZE: &str = "8388608";

fn ours(signer: &Signer, credentials: &Credentials) -> usize {
    let batch = signer.at(credentials, SystemTime::now()).expect("batch");
    let mut total = 0;
    for number in 1..=PARTS {
        let number = number.to_string();
        let url = batch.presign(&Presign {
            method: "PUT",
            origin: "http://127.0.0.1:9000",
            host: "127.0.0.1:9000",
            path: "/uploads/uploads/alice/01a2017166e0778fa319ba09fe75d39b.mp4",
            query: &[
                ("partNumber", &number),
                ("uploadId", "2~Xz0aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
            ],
            headers: &[("content-length", PART_SIZE)],
            expires_in: Duration::from_secs(900),
        });
        total += black_box(url).len();
    }
    total
}

fn aws_sigv4(credentials: &Credentials) -> usize {
    let identity: Identity = credentials.clone().into();
    let mut total = 0;
    for number in 1..=PARTS {
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(900));
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .expect("params")
            .into();
        let url = format!(
            "http://127.0.0.1:9000/uploads/uploads/alice/01a2017166e0778fa319ba09fe75d39b.mp4?partNumber={number}&uploadId=2~Xz0aBcDeFgHiJkLmNoPqRsTuVwXyZ"
        );
        let headers = [("content-length", PART_SIZE), ("host", "127.0.0.1:9000")];
        let request = SignableRequest::new(
            "PUT",
            url.as_str(),
            headers.into_iter(),
            SignableBody::UnsignedPayload,
        )
        .expect("request");
        let (instructions, _) = sign(request, &params).expect("sign").into_parts();
        total += black_box(instructions.params().len()) + url.len();
    }
    total
}

fn azure_store() -> AzureStore {
    AzureStore::connect(AzureSettings {
        account: "devstoreaccount1".into(),
        key: Secret::new(
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        ),
        container: "uploads".into(),
        endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".parse().expect("url")),
        key_prefix: String::new(),
    })
    .expect("store")
}

fn azure_blocks(
    store: &AzureStore,
    runtime: &tokio::runtime::Runtime,
    parts: &[PartTarget<'_>],
) -> usize {
    let signed = runtime
        .block_on(store.presign_parts(
            "uploads/alice/01a2017166e0778fa319ba09fe75d39b.mp4",
            "0123456789abcdef",
            parts,
            Duration::from_secs(900),
        ))
        .expect("signed");
    signed.iter().map(|p| black_box(&p.url).len()).sum()
}

/// Median and fastest of `ROUNDS` timed runs of `f`, after one warm-up.
fn measure(mut f: impl FnMut() -> usize) -> (Duration, Duration) {
    black_box(f());
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[ROUNDS / 2], times[0])
}

fn main() {
    // `cargo test --all-targets` runs this too, without `--bench`: check it works, quickly.
    if !std::env::args().any(|arg| arg == "--bench") {
        let credentials = Credentials::new("UGBENCHMARKKEY", "smoke", None, None, "bench");
        assert!(ours(&Signer::new("us-east-1"), &credentials) > 0);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let one = [PartTarget {
            part_number: 1,
            size: None,
            checksum_sha256: None,
        }];
        assert!(azure_blocks(&azure_store(), &runtime, &one) > 0);
        println!("sign_parts: smoke run only; use `cargo bench` for figures");
        return;
    }
    let credentials = Credentials::new(
        "UGBENCHMARKKEY",
        "benchmark-secret-benchmark-secret",
        None,
        None,
        "bench",
    );
    let signer = Signer::new("us-east-1");
    let (ours_median, ours_best) = measure(|| ours(&signer, &credentials));
    let (sdk_median, sdk_best) = measure(|| aws_sigv4(&credentials));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = azure_store();
    let targets: Vec<PartTarget<'_>> = (1..=PARTS)
        .map(|part_number| PartTarget {
            part_number,
            size: Some(8 << 20),
            checksum_sha256: None,
        })
        .collect();
    let (azure_median, azure_best) = measure(|| azure_blocks(&store, &runtime, &targets));
    let per_url = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(PARTS);
    println!("signing {PARTS} part URLs, one thread, median (best) of {ROUNDS} rounds:");
    println!(
        "  uploadgate signer (cached day key): {:>8.2} ms ({:.2} ms)  {:.2} us/URL",
        ours_median.as_secs_f64() * 1e3,
        ours_best.as_secs_f64() * 1e3,
        per_url(ours_median)
    );
    println!(
        "  aws-sigv4 presigner (key per URL):  {:>8.2} ms ({:.2} ms)  {:.2} us/URL",
        sdk_median.as_secs_f64() * 1e3,
        sdk_best.as_secs_f64() * 1e3,
        per_url(sdk_median)
    );
    println!(
        "  Azure block URLs (one SAS a blob):  {:>8.2} ms ({:.2} ms)  {:.2} us/URL",
        azure_median.as_secs_f64() * 1e3,
        azure_best.as_secs_f64() * 1e3,
        per_url(azure_median)
    );
    println!(
        "  ratio: {:.1}x faster than aws-sigv4; Azure blocks cost {:.2}x uploadgate's SigV4 parts",
        sdk_median.as_secs_f64() / ours_median.as_secs_f64(),
        azure_median.as_secs_f64() / ours_median.as_secs_f64()
    );
}
