//! `[azure]`: an Azure Blob Storage container, used instead of S3 when
//! `azure.account` is set.

use serde::Deserialize;
use url::Url;

use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AzureConfig {
    /// The storage account's name; none: no Azure store.
    pub account: Option<String>,
    /// The account key (base64), which signs SAS URLs and the server's calls.
    pub key: Option<Secret>,
    pub container: String,
    /// Default `https://{account}.blob.core.windows.net`; an emulator's
    /// (`http://127.0.0.1:10000/devstoreaccount1`) in tests.
    pub endpoint: Option<Url>,
    /// As `s3.key_prefix`: every blob name uploadgate uses starts with it.
    pub key_prefix: String,
}

impl Default for AzureConfig {
    fn default() -> Self {
        Self {
            account: None,
            key: None,
            container: "uploads".into(),
            endpoint: None,
            key_prefix: String::new(),
        }
    }
}

impl AzureConfig {
    pub(super) fn validate(&self) -> Result<(), String> {
        let Some(account) = &self.account else {
            return Ok(());
        };
        // Azure's rules: 3-24 lowercase letters and digits.
        if !(3..=24).contains(&account.len())
            || !account
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err(format!(
                "azure.account {account:?} is not a storage account name (3 to 24 lowercase letters and digits)"
            ));
        }
        if self.key.is_none() {
            return Err(
                "azure.account is set without azure.key (UPLOADGATE_AZURE_KEY): the account key signs uploads"
                    .into(),
            );
        }
        // 3-63 lowercase letters, digits and single hyphens, not at either end.
        let container = &self.container;
        if !(3..=63).contains(&container.len())
            || !container
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            || container.starts_with('-')
            || container.ends_with('-')
            || container.contains("--")
        {
            return Err(format!(
                "azure.container {container:?} is not a container name (3 to 63 lowercase letters, digits and single hyphens)"
            ));
        }
        super::check_key_prefix("azure.key_prefix", &self.key_prefix)
    }
}
