//! The AWS shared config and credentials files, as the AWS CLI reads them: INI sections, `[NAME]`
//! in the credentials file, `[profile NAME]` (or `[default]`) in the config file, the profile from
//! `AWS_PROFILE` (else `default`), the files from `AWS_SHARED_CREDENTIALS_FILE` and
//! `AWS_CONFIG_FILE` (else `~/.aws/credentials` and `~/.aws/config`). A key set in the credentials
//! file wins over the same key in the config file.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// One profile's settings from both files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    settings: BTreeMap<String, String>,
}

impl Profile {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.settings
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn home_file(name: &str) -> Option<PathBuf> {
    var("HOME").map(|home| PathBuf::from(home).join(".aws").join(name))
}

/// The profile in effect, read from the files that exist (missing files are no error).
pub fn current() -> Profile {
    let name = var("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let config = var("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home_file("config"));
    let credentials = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home_file("credentials"));
    let read = |path: Option<PathBuf>| path.and_then(|p| std::fs::read_to_string(p).ok());
    let mut settings = BTreeMap::new();
    if let Some(text) = read(config) {
        let section = if name == "default" {
            "default".to_string()
        } else {
            format!("profile {name}")
        };
        settings.extend(section_of(&text, &section));
    }
    if let Some(text) = read(credentials) {
        settings.extend(section_of(&text, &name));
    }
    Profile { name, settings }
}

/// The `key = value` pairs of `[section]` (sections may repeat; later keys win).
pub fn section_of(text: &str, section: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let header = header.split_whitespace().collect::<Vec<_>>().join(" ");
            inside = header == section;
            continue;
        }
        if inside && let Some((key, value)) = line.split_once('=') {
            out.insert(key.trim().to_lowercase(), value.trim().to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections() {
        let text = "\
[default]
region = eu-west-1
# a comment
[profile ci]
aws_access_key_id=AKID
aws_secret_access_key = secret
[  profile   other ]
region = us-east-2
";
        let ci = section_of(text, "profile ci");
        assert_eq!(
            ci.get("aws_access_key_id").map(String::as_str),
            Some("AKID")
        );
        assert_eq!(
            ci.get("aws_secret_access_key").map(String::as_str),
            Some("secret")
        );
        assert_eq!(ci.get("region"), None);
        assert_eq!(
            section_of(text, "profile other")
                .get("region")
                .map(String::as_str),
            Some("us-east-2")
        );
        assert_eq!(
            section_of(text, "default")
                .get("region")
                .map(String::as_str),
            Some("eu-west-1")
        );
    }
}
