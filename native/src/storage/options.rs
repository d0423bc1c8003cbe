//! `storage_options` → store settings: object_store's own key names pass through, and the
//! fsspec/s3fs/gcsfs/adlfs names upstream users pass (`key`, `secret`, `client_kwargs.endpoint_url`,
//! `anon`, ...) are translated. Nested dicts arrive flattened with `.` (`client_kwargs.endpoint_url`).
//! Timeouts and retries are bounded by default, so an unreachable endpoint fails, never hangs.

use std::time::Duration;

use object_store::{BackoffConfig, RetryConfig};

use super::url::Family;
use crate::error::{Error, Result};

/// Per-request timeout unless `timeout` is given.
pub const DEFAULT_TIMEOUT: &str = "30s";
/// Connection timeout unless `connect_timeout` is given.
pub const DEFAULT_CONNECT_TIMEOUT: &str = "5s";
/// Retries of a failed request unless `max_retries` is given.
pub const DEFAULT_MAX_RETRIES: usize = 3;
/// Time after the first attempt past which no retry starts unless `retry_timeout` is given.
pub const DEFAULT_RETRY_TIMEOUT: Duration = Duration::from_secs(15);

/// fsspec options that tune fsspec's own caching or listing: accepted and ignored.
const FSSPEC_ONLY: &[&str] = &[
    "default_block_size",
    "default_fill_cache",
    "default_cache_type",
    "use_listings_cache",
    "listings_expiry_time",
    "max_paths",
    "skip_instance_cache",
    "asynchronous",
    "loop",
    "version_aware",
    "cache_regions",
    "max_concurrency",
    "block_size",
    "consistency",
];

/// Settings of one store: object_store `(key, value)` pairs (or Hadoop keys for HDFS), and retries.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub config: Vec<(String, String)>,
    pub retry: RetryConfig,
}

/// Translates `options` for a store of `family`; an unknown key is a `Value` error naming it.
pub fn translate(family: Family, options: &[(String, String)]) -> Result<StoreSettings> {
    let mut config: Vec<(String, String)> = Vec::new();
    let mut retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: DEFAULT_MAX_RETRIES,
        retry_timeout: DEFAULT_RETRY_TIMEOUT,
    };
    let set = |config: &mut Vec<(String, String)>, k: &str, v: &str| {
        config.retain(|(key, _)| key != k);
        config.push((k.to_string(), v.to_string()));
    };
    if family != Family::Hdfs {
        set(&mut config, "timeout", DEFAULT_TIMEOUT);
        set(&mut config, "connect_timeout", DEFAULT_CONNECT_TIMEOUT);
    }
    for (key, value) in options {
        let key = key.as_str();
        let unknown = || {
            Error::value(format!(
                "storage option '{key}' is not known for {} URLs (object_store names such as aws_access_key_id, \
                 google_service_account, azure_storage_account_name, timeout; or fsspec names such as key, secret, \
                 token, endpoint_url, client_kwargs.endpoint_url, region_name, anon)",
                family_name(family)
            ))
        };
        match key {
            "max_retries" => retry.max_retries = value.parse().map_err(|_| bad_value(key, value))?,
            "retry_timeout" => retry.retry_timeout = parse_duration(key, value)?,
            k if FSSPEC_ONLY.contains(&k) => log::debug!("ignoring fsspec storage option '{k}'"),
            "timeout" | "connect_timeout" => set(&mut config, key, &duration_text(key, value)?),
            _ => match family {
                Family::Hdfs => set(&mut config, key, value),
                Family::Local => return Err(unknown()),
                Family::S3 => {
                    for (k, v) in s3_key(key, value).ok_or_else(unknown)? {
                        set(&mut config, &k, &v);
                    }
                }
                Family::Gcs => {
                    for (k, v) in gcs_key(key, value).ok_or_else(unknown)? {
                        set(&mut config, &k, &v);
                    }
                }
                Family::Azure => {
                    for (k, v) in azure_key(key, value)?.ok_or_else(unknown)? {
                        set(&mut config, &k, &v);
                    }
                }
                Family::Http => {
                    let k = client_key(key).ok_or_else(unknown)?;
                    set(&mut config, k, value);
                }
            },
        }
    }
    Ok(StoreSettings { config, retry })
}

fn family_name(family: Family) -> &'static str {
    match family {
        Family::Local => "file://",
        Family::S3 => "s3://",
        Family::Gcs => "gs://",
        Family::Azure => "Azure (az://, abfs(s)://)",
        Family::Http => "http(s)://",
        Family::Hdfs => "hdfs://",
    }
}

fn bad_value(key: &str, value: &str) -> Error {
    Error::value(format!("storage option '{key}': invalid value '{value}'"))
}

/// A duration option: seconds (`"10"`, `10.5`) or a humantime text (`"10s"`, `"500ms"`).
fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad_value(key, value));
    }
    let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(value.len()));
    let n: f64 = number.trim().parse().map_err(|_| bad_value(key, value))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" | "sec" | "secs" => n,
        "m" | "min" => n * 60.0,
        _ => return Err(bad_value(key, value)),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| bad_value(key, value))
}

/// A duration option in object_store's text form.
fn duration_text(key: &str, value: &str) -> Result<String> {
    Ok(format!("{}ms", parse_duration(key, value)?.as_millis()))
}

fn truthy(value: &str) -> bool {
    matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// object_store's client keys shared by every cloud store (`allow_http`, `proxy_url`, ...).
fn client_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "allow_http" => "allow_http",
        "allow_invalid_certificates" => "allow_invalid_certificates",
        "proxy_url" => "proxy_url",
        "proxy_ca_certificate" => "proxy_ca_certificate",
        "proxy_excludes" => "proxy_excludes",
        "user_agent" => "user_agent",
        "pool_idle_timeout" => "pool_idle_timeout",
        "pool_max_idle_per_host" => "pool_max_idle_per_host",
        _ => return None,
    })
}

/// S3: s3fs names, and object_store's (`aws_*` and their short aliases).
fn s3_key(key: &str, value: &str) -> Option<Vec<(String, String)>> {
    let one = |k: &str| Some(vec![(k.to_string(), value.to_string())]);
    match key {
        "key" | "access_key" => one("aws_access_key_id"),
        "secret" | "secret_key" => one("aws_secret_access_key"),
        "token" | "session_token" => one("aws_session_token"),
        "endpoint_url" | "client_kwargs.endpoint_url" | "endpoint" => {
            let mut out = vec![("aws_endpoint".to_string(), value.to_string())];
            if value.starts_with("http://") {
                out.push(("allow_http".to_string(), "true".to_string()));
            }
            Some(out)
        }
        "region_name" | "client_kwargs.region_name" | "region" => one("aws_region"),
        "anon" => one_bool("aws_skip_signature", value),
        "use_ssl" => Some(vec![("allow_http".to_string(), (!truthy(value)).to_string())]),
        "requester_pays" => one_bool("aws_request_payer", value),
        "config_kwargs.s3.addressing_style" => {
            Some(vec![("aws_virtual_hosted_style_request".to_string(), (value == "virtual").to_string())])
        }
        "client_kwargs.aws_access_key_id" => one("aws_access_key_id"),
        "client_kwargs.aws_secret_access_key" => one("aws_secret_access_key"),
        "client_kwargs.aws_session_token" => one("aws_session_token"),
        _ => object_store_key::<object_store::aws::AmazonS3ConfigKey>(key, value),
    }
}

/// GCS: gcsfs names (`token` as a key-file path, key JSON or `anon`; `project` is implied by the
/// credentials and ignored), and object_store's.
fn gcs_key(key: &str, value: &str) -> Option<Vec<(String, String)>> {
    let one = |k: &str, v: &str| Some(vec![(k.to_string(), v.to_string())]);
    match key {
        "token" if matches!(value, "anon" | "anonymous") => one("google_skip_signature", "true"),
        "token" if value.trim_start().starts_with('{') => one("google_service_account_key", value),
        "token" => one("google_service_account", value),
        "anon" => one_bool("google_skip_signature", value),
        "project" => Some(Vec::new()),
        _ => object_store_key::<object_store::gcp::GoogleConfigKey>(key, value),
    }
}

/// Azure: adlfs names (`account_name`, `account_key`, `sas_token`, `connection_string`, `anon`,
/// service-principal ids), and object_store's.
fn azure_key(key: &str, value: &str) -> Result<Option<Vec<(String, String)>>> {
    Ok(match key {
        "anon" => Some(vec![("azure_skip_signature".into(), truthy(value).to_string())]),
        "connection_string" => Some(connection_string(value)?),
        _ => object_store_key::<object_store::azure::AzureConfigKey>(key, value),
    })
}

/// `AccountName=..;AccountKey=..;BlobEndpoint=..;SharedAccessSignature=..` → object_store keys.
fn connection_string(value: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in value.split(';').filter(|p| !p.trim().is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(|| bad_value("connection_string", "<hidden>"))?;
        let key = match k.trim() {
            "AccountName" => "azure_storage_account_name",
            "AccountKey" => "azure_storage_account_key",
            "SharedAccessSignature" => "azure_storage_sas_token",
            "BlobEndpoint" => "azure_storage_endpoint",
            _ => continue,
        };
        out.push((key.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

fn one_bool(key: &str, value: &str) -> Option<Vec<(String, String)>> {
    Some(vec![(key.to_string(), truthy(value).to_string())])
}

/// `key` when object_store's config enum `K` knows it (its canonical name), else `None`.
fn object_store_key<K>(key: &str, value: &str) -> Option<Vec<(String, String)>>
where
    K: std::str::FromStr + AsRef<str>,
{
    key.parse::<K>().ok().map(|k| vec![(k.as_ref().to_string(), value.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn get<'a>(s: &'a StoreSettings, key: &str) -> Option<&'a str> {
        s.config.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    #[test]
    fn s3fs_names_become_object_store_keys() {
        let s = translate(
            Family::S3,
            &opts(&[
                ("key", "AK"),
                ("secret", "SK"),
                ("token", "T"),
                ("client_kwargs.endpoint_url", "http://127.0.0.1:9"),
                ("region_name", "eu-west-1"),
                ("anon", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(get(&s, "aws_access_key_id"), Some("AK"));
        assert_eq!(get(&s, "aws_secret_access_key"), Some("SK"));
        assert_eq!(get(&s, "aws_session_token"), Some("T"));
        assert_eq!(get(&s, "aws_endpoint"), Some("http://127.0.0.1:9"));
        assert_eq!(get(&s, "allow_http"), Some("true"));
        assert_eq!(get(&s, "aws_region"), Some("eu-west-1"));
        assert_eq!(get(&s, "aws_skip_signature"), Some("false"));
        assert_eq!(get(&s, "timeout"), Some(DEFAULT_TIMEOUT));
    }

    #[test]
    fn object_store_names_pass_through() {
        let s = translate(Family::S3, &opts(&[("aws_access_key_id", "AK"), ("AWS_REGION", "x")])).err();
        assert!(s.is_some(), "keys are case sensitive, as in object_store");
        let s = translate(Family::S3, &opts(&[("aws_access_key_id", "AK"), ("access_key_id", "AK2")])).unwrap();
        assert_eq!(get(&s, "aws_access_key_id"), Some("AK2"));
        let s = translate(Family::Azure, &opts(&[("account_name", "acct"), ("account_key", "k")])).unwrap();
        assert_eq!(get(&s, "azure_storage_account_name"), Some("acct"));
        assert_eq!(get(&s, "azure_storage_account_key"), Some("k"));
    }

    #[test]
    fn gcs_and_azure_fsspec_names() {
        let s = translate(Family::Gcs, &opts(&[("token", "/keys/sa.json")])).unwrap();
        assert_eq!(get(&s, "google_service_account"), Some("/keys/sa.json"));
        let s = translate(Family::Gcs, &opts(&[("token", "anon"), ("project", "p")])).unwrap();
        assert_eq!(get(&s, "google_skip_signature"), Some("true"));
        let s = translate(
            Family::Azure,
            &opts(&[("connection_string", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/acct")]),
        )
        .unwrap();
        assert_eq!(get(&s, "azure_storage_account_name"), Some("acct"));
        assert_eq!(get(&s, "azure_storage_account_key"), Some("a2V5"));
        assert_eq!(get(&s, "azure_storage_endpoint"), Some("http://127.0.0.1:10000/acct"));
    }

    #[test]
    fn retries_and_timeouts_are_bounded_and_settable() {
        let s = translate(Family::Http, &[]).unwrap();
        assert_eq!(s.retry.max_retries, DEFAULT_MAX_RETRIES);
        assert_eq!(s.retry.retry_timeout, DEFAULT_RETRY_TIMEOUT);
        let s = translate(Family::Http, &opts(&[("max_retries", "0"), ("retry_timeout", "2.5"), ("timeout", "500ms")]))
            .unwrap();
        assert_eq!(s.retry.max_retries, 0);
        assert_eq!(s.retry.retry_timeout, Duration::from_millis(2500));
        assert_eq!(get(&s, "timeout"), Some("500ms"));
        assert!(translate(Family::Http, &opts(&[("timeout", "soon")])).is_err());
    }

    #[test]
    fn unknown_keys_name_the_key_and_hdfs_takes_hadoop_keys() {
        let e = translate(Family::S3, &opts(&[("secrte", "x")])).unwrap_err();
        assert!(e.message().contains("'secrte'"), "{e}");
        assert!(translate(Family::Local, &opts(&[("key", "x")])).is_err());
        assert!(translate(Family::S3, &opts(&[("default_block_size", "5")])).is_ok());
        let s = translate(Family::Hdfs, &opts(&[("dfs.ha.namenodes.ns", "nn1,nn2")])).unwrap();
        assert_eq!(get(&s, "dfs.ha.namenodes.ns"), Some("nn1,nn2"));
    }
}
