//! Dataset URL forms: scheme aliases, plain paths, `dbfs:/`, and the directory-URL rule the
//! converters use. One place for what Python and Scala used to spell out twice.

use url::Url;

use crate::error::{Error, Result};

/// The store family a URL is served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Local,
    S3,
    Gcs,
    Azure,
    Http,
    Hdfs,
}

/// Schemes accepted, for messages.
pub const SUPPORTED_SCHEMES: &str =
    "file, s3, s3a, s3n, gs, gcs, az, abfs, abfss, adl, azure, wasb, wasbs, http, https, hdfs, viewfs, dbfs";

/// `url` in the form the stores take: `s3a://`/`s3n://` → `s3://`, `gcs://` → `gs://`,
/// `wasb(s)://` → `abfs(s)://`, `dbfs:/x` → `file:///dbfs/x` (Databricks' FUSE mount, as upstream's
/// converter maps it), `file://localhost/x` → `file:///x`, a plain path → an absolute `file://` URL.
pub fn canonical(url: &str) -> Result<(Family, Url)> {
    if url.is_empty() {
        return Err(Error::value("dataset URL is empty"));
    }
    if let Some(rest) = url.strip_prefix("dbfs:") {
        return local(&format!("/dbfs/{}", rest.trim_start_matches('/')), url);
    }
    if !has_scheme(url) {
        return local(url, url);
    }
    let mut parsed = Url::parse(url).map_err(|e| Error::value(format!("invalid dataset URL '{url}': {e}")))?;
    let (family, scheme) = match parsed.scheme() {
        "file" => (Family::Local, "file"),
        "s3" | "s3a" | "s3n" => (Family::S3, "s3"),
        "gs" | "gcs" => (Family::Gcs, "gs"),
        "az" | "abfs" | "abfss" | "adl" | "azure" => (Family::Azure, parsed.scheme()),
        "wasb" => (Family::Azure, "abfs"),
        "wasbs" => (Family::Azure, "abfss"),
        "http" | "https" => (Family::Http, parsed.scheme()),
        "hdfs" | "viewfs" => (Family::Hdfs, parsed.scheme()),
        other => {
            return Err(Error::value(format!(
                "unsupported URL scheme '{other}' in '{url}' (supported: {SUPPORTED_SCHEMES})"
            )))
        }
    };
    if family == Family::Local {
        let path = parsed.to_file_path().map_err(|()| Error::value(format!("invalid file URL '{url}'")))?;
        return local(&path.to_string_lossy(), url);
    }
    if scheme != parsed.scheme() {
        // `Url::set_scheme` refuses some special/non-special switches: rebuild the text instead.
        let rest = &url[url.find(':').expect("a parsed URL has a scheme")..];
        parsed = Url::parse(&format!("{scheme}{rest}"))
            .map_err(|e| Error::value(format!("invalid dataset URL '{url}': {e}")))?;
    }
    if family != Family::Hdfs && parsed.host_str().is_none_or(str::is_empty) {
        return Err(Error::value(format!("dataset URL '{url}' has no bucket, container or host")));
    }
    Ok((family, parsed))
}

/// Whether `url` starts with `scheme:` followed by `/` (a URL rather than a relative path; a
/// Windows drive letter is not a scheme).
fn has_scheme(url: &str) -> bool {
    match url.split_once(':') {
        Some((scheme, rest)) => {
            scheme.len() > 1
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && rest.starts_with('/')
        }
        None => false,
    }
}

/// A local path (absolute, or relative to the working directory) as a `file://` URL, with `.`
/// and `..` resolved lexically (store paths may not hold them).
fn local(path: &str, original: &str) -> Result<(Family, Url)> {
    let path = std::path::Path::new(path);
    let absolute = match path.is_absolute() {
        true => path.to_path_buf(),
        false => std::env::current_dir()?.join(path),
    };
    let mut normal = std::path::PathBuf::new();
    for component in absolute.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    let url = Url::from_file_path(&normal).map_err(|()| Error::value(format!("invalid dataset URL '{original}'")))?;
    Ok((Family::Local, url))
}

/// A directory URL as the converters name it: no trailing `/`, `file:/x` and `file://localhost/x`
/// spelled `file:///x`, `dbfs:/x` kept (Spark writes there), other schemes unchanged (`s3a://`
/// stays `s3a://`: it is what Spark writes to).
pub fn normalize_dir_url(url: &str) -> String {
    let mut url = url.to_string();
    while url.ends_with('/') && !url.ends_with(":///") && !url.ends_with("://") && !url.ends_with(":/") {
        url.pop();
    }
    for prefix in ["file://localhost/", "file:/"] {
        if let Some(rest) = url.strip_prefix(prefix) {
            if prefix == "file:/" && rest.starts_with('/') {
                // `file:///x` already, or `file://host/x` (left alone).
                break;
            }
            return format!("file:///{}", rest.trim_start_matches('/'));
        }
    }
    url
}

/// An existing directory given by URL or by plain path (relative to the working directory), as
/// the converters name it: a plain path becomes an absolute `file://` URL (`.` and `..` resolved),
/// then [`normalize_dir_url`] applies.
pub fn existing_dir_url(path_or_url: &str) -> Result<String> {
    if path_or_url.is_empty() {
        return Err(Error::value("directory URL is empty"));
    }
    if has_scheme(path_or_url) {
        return Ok(normalize_dir_url(path_or_url));
    }
    Ok(normalize_dir_url(local(path_or_url, path_or_url)?.1.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(url: &str) -> String {
        canonical(url).unwrap().1.to_string()
    }

    #[test]
    fn aliases_become_the_store_schemes() {
        assert_eq!(canon("s3a://bucket/a/b"), "s3://bucket/a/b");
        assert_eq!(canon("s3n://bucket/a"), "s3://bucket/a");
        assert_eq!(canon("gcs://bucket/a"), "gs://bucket/a");
        assert_eq!(canon("wasbs://c@acct.dfs.core.windows.net/p"), "abfss://c@acct.dfs.core.windows.net/p");
        assert_eq!(canon("abfss://c@acct.dfs.core.windows.net/p"), "abfss://c@acct.dfs.core.windows.net/p");
        assert_eq!(canon("hdfs://nn:9000/x"), "hdfs://nn:9000/x");
        assert_eq!(canonical("viewfs://cluster/x").unwrap().0, Family::Hdfs);
        assert_eq!(canonical("https://example.com/d").unwrap().0, Family::Http);
    }

    #[test]
    fn local_forms_become_absolute_file_urls() {
        assert_eq!(canon("/tmp/x y"), "file:///tmp/x%20y");
        assert_eq!(canon("/tmp/a/../b/./c"), "file:///tmp/b/c");
        assert_eq!(canon("file:///tmp/a"), "file:///tmp/a");
        assert_eq!(canon("file:/tmp/a"), "file:///tmp/a");
        assert_eq!(canon("file://localhost/tmp/a"), "file:///tmp/a");
        assert_eq!(canon("dbfs:/ml/cache"), "file:///dbfs/ml/cache");
        assert_eq!(canon("dbfs:///ml/cache"), "file:///dbfs/ml/cache");
        assert!(canon("relative/dir").starts_with("file:///"));
    }

    #[test]
    fn bad_urls_are_value_errors_naming_them() {
        assert!(canonical("").is_err());
        let e = canonical("ftp://host/x").unwrap_err();
        assert!(e.message().contains("ftp") && e.message().contains("ftp://host/x"), "{e}");
        assert!(canonical("s3:///key-without-bucket").is_err());
    }

    #[test]
    fn directory_urls() {
        assert_eq!(normalize_dir_url("file:///tmp/a/"), "file:///tmp/a");
        assert_eq!(normalize_dir_url("file:/tmp/a"), "file:///tmp/a");
        assert_eq!(normalize_dir_url("file://localhost/tmp/a"), "file:///tmp/a");
        assert_eq!(normalize_dir_url("file:///"), "file:///");
        assert_eq!(normalize_dir_url("s3a://b/cache/"), "s3a://b/cache");
        assert_eq!(normalize_dir_url("hdfs://nn:8020/x//"), "hdfs://nn:8020/x");
        assert_eq!(normalize_dir_url("dbfs:/ml/"), "dbfs:/ml");
    }

    #[test]
    fn existing_directories_given_by_plain_path_become_file_urls() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(existing_dir_url("/tmp/a/../b/").unwrap(), "file:///tmp/b");
        assert_eq!(existing_dir_url("rel/dir").unwrap(), Url::from_file_path(cwd.join("rel/dir")).unwrap().as_str());
        assert_eq!(existing_dir_url("/tmp/with space").unwrap(), "file:///tmp/with%20space");
        assert_eq!(existing_dir_url("file:/tmp/a/").unwrap(), "file:///tmp/a");
        assert_eq!(existing_dir_url("s3a://b/data/").unwrap(), "s3a://b/data");
        assert_eq!(existing_dir_url("dbfs:/ml").unwrap(), "dbfs:/ml");
        assert!(existing_dir_url("").is_err());
    }
}
