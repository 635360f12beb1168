//! Whether the configured store can do what the profiles ask of it, checked
//! before `serve` or `worker` starts: a profile that needs a capability the
//! store lacks (encryption on Azure, say) or parts the store cannot take is
//! refused with a message naming the setting, never silently downgraded.

use anyhow::Context as _;

use crate::config::Config;
use crate::storage::ObjectStore;

pub async fn check(config: &Config, store: &dyn ObjectStore) -> anyhow::Result<()> {
    let capabilities = store.capabilities();
    let limits = store.part_limits();
    let family = capabilities.family;
    for (name, profile) in &config.profiles {
        if profile.sse.is_some() && !capabilities.encryption {
            anyhow::bail!(
                "profiles.{name}.sse is set, but {family} takes no per-request server-side \
                 encryption (configure encryption at rest on the store itself): remove `sse` \
                 from the profile"
            );
        }
        // Files up to the threshold go in one request.
        if profile.multipart_threshold > limits.max_single {
            anyhow::bail!(
                "profiles.{name}.multipart_threshold is {} bytes; {family} takes at most {} bytes \
                 in one request: lower it",
                profile.multipart_threshold,
                limits.max_single
            );
        }
        let largest = u64::from(limits.max_parts).saturating_mul(limits.max_part);
        if profile.max_size > largest {
            anyhow::bail!(
                "profiles.{name}.max_size is {} bytes; {family} holds at most {largest} bytes \
                 in one upload ({} parts of {} bytes)",
                profile.max_size,
                limits.max_parts,
                limits.max_part
            );
        }
        if let Some(part_size) = profile.part_size
            && !limits.allows_part(part_size)
        {
            anyhow::bail!(
                "profiles.{name}.part_size is {part_size} bytes; {family} takes parts of {} to {} bytes",
                limits.min_part,
                limits.max_part
            );
        }
    }
    check_encryption(config, store).await
}

/// Refuses to start when a profile asks for server-side encryption that the
/// store would silently skip: uploads would be stored in the clear.
async fn check_encryption(config: &Config, store: &dyn ObjectStore) -> anyhow::Result<()> {
    // Profiles asking for the same encryption share one probe: each is a
    // write, a HEAD and a delete at every start.
    for (sse, profiles) in config.encryptions() {
        let name = profiles[0];
        let applied = store
            .applies_sse(&sse)
            .await
            .with_context(|| format!("cannot check that storage applies profiles.{name}.sse"))?;
        anyhow::ensure!(
            applied,
            "profiles.{name}.sse = {:?}, but this store does not apply server-side encryption \
             (it ignored or refused it on a probe object); remove `sse` from the profile or use \
             a store that supports it (AWS S3, or MinIO with a KMS)",
            sse.algorithm()
        );
    }
    Ok(())
}
