//! The converter's cache directories, for the Python and Scala converters alike: the name of a new
//! one (upstream's `{%Y%m%d%H%M%S}-appid-{application id}-{uuid4}`), and which URL `delete()` may
//! remove (a converter directory directly under the parent cache directory, nothing else).

use std::sync::OnceLock;

use regex::Regex;

use crate::error::{Error, Result};
use crate::storage::normalize_dir_url;

/// The name of a new cache directory for Spark application `app_id` (local time, as upstream).
pub fn new_dir_name(app_id: &str) -> String {
    format!("{}-appid-{app_id}-{}", chrono::Local::now().format("%Y%m%d%H%M%S"), uuid::Uuid::new_v4())
}

/// Whether `name` has the form of [`new_dir_name`].
pub fn is_dir_name(name: &str) -> bool {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            Regex::new(r"^\d{14}-appid-.+-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
                .expect("valid")
        })
        .is_match(name)
}

/// `Ok` when `url` is a converter directory directly under `parent` (both as the converters name
/// directories); else a `Value` error refusing the delete. `parent` unknown (`None`) refuses.
pub fn check_deletable(url: &str, parent: Option<&str>) -> Result<()> {
    let url = normalize_dir_url(url);
    let parent = parent.map(normalize_dir_url);
    let (dir, name) = url.rsplit_once('/').unwrap_or(("", &url));
    match &parent {
        Some(p) if p == dir && is_dir_name(name) => Ok(()),
        _ => Err(Error::value(format!(
            "Refusing to delete {url}: not a converter cache directory under {}",
            parent.as_deref().unwrap_or("the parent cache directory")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_names_have_the_checked_form() {
        let name = new_dir_name("local-1700000000000");
        assert!(is_dir_name(&name), "{name}");
        assert!(name.contains("-appid-local-1700000000000-"));
        assert_ne!(name, new_dir_name("local-1700000000000"));
        assert!(!is_dir_name("20240101000000-appid-x-not-a-uuid"));
        assert!(!is_dir_name("data"));
    }

    #[test]
    fn only_converter_directories_under_the_parent_are_deletable() {
        let name = new_dir_name("app-1");
        assert!(check_deletable(&format!("hdfs://nn:8020/cache/{name}"), Some("hdfs://nn:8020/cache/")).is_ok());
        assert!(check_deletable(&format!("file:/tmp/cache/{name}/"), Some("file:///tmp/cache")).is_ok());
        for (url, parent) in [
            (format!("hdfs://nn:8020/cache/sub/{name}"), Some("hdfs://nn:8020/cache")),
            ("hdfs://nn:8020/cache/data".to_string(), Some("hdfs://nn:8020/cache")),
            (format!("hdfs://nn:8020/cache/{name}"), Some("hdfs://other:8020/cache")),
            (format!("hdfs://nn:8020/cache/{name}"), None),
            ("hdfs://nn:8020/cache".to_string(), Some("hdfs://nn:8020")),
        ] {
            let e = check_deletable(&url, parent).unwrap_err();
            assert!(e.message().starts_with("Refusing to delete"), "{e}");
        }
    }
}
