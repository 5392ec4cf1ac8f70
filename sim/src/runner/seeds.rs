//! `seeds/`: one TOML file per seed that ever failed, replayed by default.
//!
//! ```toml
//! seed = 1234
//! scenario = "acks-all-burst-crash"
//! commit = "abc1234"
//! bug = "one line on what was wrong"
//! ```
//!
//! `scenario = "swarm"` names a swarm seed (`sim --swarm --seed N`): the run's
//! scenario and BUGGIFY seed are drawn from the seed.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedFile {
    #[serde(skip)]
    pub file: String,
    pub seed: u64,
    pub scenario: String,
    pub commit: String,
    pub bug: String,
}

/// Every `*.toml` in `dir`, sorted by file name.
pub fn load_dir(dir: &std::path::Path) -> Result<Vec<SeedFile>, String> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut paths: Vec<_> =
        entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let mut f: SeedFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        f.file = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push(f);
    }
    Ok(out)
}
