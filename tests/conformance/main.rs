//! Elasticsearch-format YAML REST tests (`tests/rest/**/*.yml`), one libtest trial per section,
//! named `<file>::<section>`. Each section gets a fresh app (new temporary data folder), runs
//! after the file's `setup` and before its `teardown`. `CONFORMANCE_URL=http://host:port` runs
//! the same files against a live server instead (one at a time, indices wiped between sections).
//!
//! `cargo test --test conformance [-- <filter>]`

mod api;
mod assertions;
mod client;
mod http;
mod prereq;
mod response;
mod skiplist;
mod stash;
mod steps;
mod suite;
mod warnings;

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use crate::api::ApiSpec;
use crate::client::{InProcess, Transport};
use crate::http::Remote;
use crate::suite::Suite;

/// What every trial shares.
struct Shared {
    spec: ApiSpec,
    remote: Option<String>,
    skips: BTreeMap<String, String>,
    /// Tests listed in skip.yml that passed.
    now_passing: Mutex<Vec<String>>,
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rest = root.join("tests/rest");
    let setup = ApiSpec::load(&root.join("api-spec/openapi.yaml"))
        .and_then(|spec| Ok((spec, skiplist::load(&rest.join("skip.yml"))?)));
    let (spec, skips) = match setup {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("conformance: {error}");
            return ExitCode::FAILURE;
        }
    };
    let remote = std::env::var("CONFORMANCE_URL").ok().filter(|url| !url.is_empty());
    if remote.is_some() {
        // One live server: sections must not overlap.
        args.test_threads = Some(1);
    }
    let shared = Arc::new(Shared {
        spec,
        remote,
        skips,
        now_passing: Mutex::new(Vec::new()),
    });

    let mut trials = Vec::new();
    let mut names = Vec::new();
    for file in discover(&rest) {
        let file_name = test_file_name(&rest, &file);
        match Suite::load(&file) {
            Err(error) => {
                let name = format!("{file_name}::<load>");
                trials.push(Trial::test(name, move || Err(Failed::from(error))));
            }
            Ok(suite) => {
                let suite = Arc::new(suite);
                for index in 0..suite.sections.len() {
                    let name = format!("{file_name}::{}", suite.sections[index].name);
                    names.push(name.clone());
                    let (suite, shared) = (Arc::clone(&suite), Arc::clone(&shared));
                    trials.push(Trial::ignorable_test(name.clone(), move || {
                        run_trial(&shared, &suite, index, &name)
                    }));
                }
            }
        }
    }
    for listed in shared.skips.keys().filter(|listed| !names.contains(listed)) {
        println!("notice: skip.yml entry matches no test: {listed}");
    }

    let conclusion = libtest_mimic::run(&args, trials);
    for name in shared
        .now_passing
        .lock()
        .expect("no trial panics while holding the lock")
        .iter()
    {
        println!("notice: skipped test now passes: {name} (remove it from tests/rest/skip.yml)");
    }
    println!(
        "conformance: {} passed, {} failed, {} skipped",
        conclusion.num_passed, conclusion.num_failed, conclusion.num_ignored
    );
    if conclusion.has_failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Runs a section, applying skip.yml: a listed test that fails is skipped, one that passes is
/// reported.
fn run_trial(shared: &Shared, suite: &Suite, index: usize, name: &str) -> Result<Completion, Failed> {
    let outcome = run_section(shared, suite, index);
    let Some(reason) = shared.skips.get(name) else {
        return outcome.map_err(Failed::from);
    };
    match outcome {
        Err(_) => Ok(Completion::ignored_with(format!("skip.yml: {reason}"))),
        Ok(Completion::Completed) => {
            shared
                .now_passing
                .lock()
                .expect("no trial panics while holding the lock")
                .push(name.to_string());
            Ok(Completion::ignored_with("listed in skip.yml but now passes"))
        }
        Ok(other) => Ok(other),
    }
}

fn run_section(shared: &Shared, suite: &Suite, index: usize) -> Result<Completion, String> {
    let section = &suite.sections[index];
    let leading = |steps: &[serde_json::Value]| {
        steps
            .iter()
            .take_while(|step| prereq::is_prerequisite(step))
            .cloned()
            .collect::<Vec<_>>()
    };
    for step in leading(&suite.setup)
        .iter()
        .chain(&leading(&section.steps))
        .chain(&leading(&suite.teardown))
    {
        if let Some(reason) = prereq::skip_reason(step)? {
            return Ok(Completion::ignored_with(reason));
        }
    }
    let mut transport: Box<dyn Transport> = match &shared.remote {
        Some(url) => {
            let mut remote = Remote::parse(url)?;
            remote.wipe()?;
            Box::new(remote)
        }
        None => Box::new(InProcess::new()?),
    };
    let mut context = steps::Context::new(transport.as_mut(), &shared.spec);
    let mut result = context.run("setup", &suite.setup);
    if result.is_ok() {
        result = context.run("test", &section.steps);
    }
    let teardown = context.run("teardown", &suite.teardown);
    result.and(teardown)?;
    Ok(Completion::Completed)
}

/// Every `.yml`/`.yaml` file under `dir` but `skip.yml`, sorted.
fn discover(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "yml" || ext == "yaml") && path != dir.join("skip.yml")
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `search/10_match` for `tests/rest/search/10_match.yml`.
fn test_file_name(rest: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(rest).unwrap_or(file).with_extension("");
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
