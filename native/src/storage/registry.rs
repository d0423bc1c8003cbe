//! Builds the object store of a canonical URL, once per (scheme, authority, options) per process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hdfs_native_object_store::HdfsObjectStoreBuilder;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientConfigKey, ObjectStore, ObjectStoreScheme};
use url::Url;

use super::options::{translate, StoreSettings};
use super::url::Family;
use crate::error::{Error, Result};

type Stores = HashMap<String, Arc<dyn ObjectStore>>;

/// The store serving `url` (canonical, of `family`) and the path of `url` inside it.
pub(super) fn store_for(
    family: Family,
    url: &Url,
    options: &[(String, String)],
) -> Result<(Arc<dyn ObjectStore>, Path)> {
    let path = path_in_store(family, url)?;
    let mut settings = translate(family, options)?;
    if url.scheme() == "http" && !settings.config.iter().any(|(k, _)| k == "allow_http") {
        // A plain http:// dataset URL is the user's choice of transport.
        settings.config.push(("allow_http".to_string(), "true".to_string()));
    }
    let authority = &url[..url::Position::BeforePath];
    let key = format!("{authority}\u{0}{:?}", settings.config);
    static STORES: Mutex<Option<(u32, Stores)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = STORES.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_none_or(|(owner, _)| *owner != pid) {
        // After a fork, the parent's clients belong to its runtime: start over.
        if let Some((_, stale)) = slot.take() {
            std::mem::forget(stale);
        }
        *slot = Some((pid, HashMap::new()));
    }
    let stores = &mut slot.as_mut().expect("set above").1;
    if let Some(store) = stores.get(&key) {
        return Ok((Arc::clone(store), path));
    }
    let store = build(family, url, authority, settings)?;
    log::debug!("opened a {family:?} store for {authority}");
    stores.insert(key, Arc::clone(&store));
    Ok((store, path))
}

fn path_in_store(family: Family, url: &Url) -> Result<Path> {
    let bad = |e: &dyn std::fmt::Display| Error::value(format!("invalid path in '{url}': {e}"));
    match family {
        Family::Hdfs => Path::from_url_path(url.path()).map_err(|e| bad(&e)),
        _ => ObjectStoreScheme::parse(url).map(|(_, path)| path).map_err(|e| bad(&e)),
    }
}

/// Applies `settings` to an object_store builder whose config keys parse from their names.
macro_rules! configured {
    ($builder:expr, $key:ty, $settings:expr, $url:expr) => {{
        let mut builder = $builder.with_url($url.to_string()).with_retry($settings.retry.clone());
        for (k, v) in &$settings.config {
            let key: $key = k.parse().map_err(|e| Error::value(format!("storage option '{k}': {e}")))?;
            builder = builder.with_config(key, v);
        }
        Arc::new(builder.build().map_err(store_error)?) as Arc<dyn ObjectStore>
    }};
}

fn build(family: Family, url: &Url, authority: &str, settings: StoreSettings) -> Result<Arc<dyn ObjectStore>> {
    Ok(match family {
        Family::Local => Arc::new(LocalFileSystem::new()),
        Family::S3 => configured!(AmazonS3Builder::from_env(), object_store::aws::AmazonS3ConfigKey, settings, url),
        Family::Gcs => {
            configured!(GoogleCloudStorageBuilder::from_env(), object_store::gcp::GoogleConfigKey, settings, url)
        }
        Family::Azure => {
            configured!(MicrosoftAzureBuilder::from_env(), object_store::azure::AzureConfigKey, settings, url)
        }
        Family::Http => configured!(HttpBuilder::new(), ClientConfigKey, settings, authority),
        Family::Hdfs => {
            let store = HdfsObjectStoreBuilder::new()
                .with_url(authority)
                .with_config(settings.config)
                .with_io_runtime(super::runtime().handle().clone())
                .build()
                .map_err(store_error)?;
            Arc::new(store)
        }
    })
}

/// A store that can't be built: bad credentials settings, an unknown name service, ...
fn store_error(e: object_store::Error) -> Error {
    Error::value(format!("cannot configure the store: {e}"))
}
