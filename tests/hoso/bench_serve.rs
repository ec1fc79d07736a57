//! `bench serve --quick`: the load benchmark of the HTTP service runs end to end against a
//! real `hoso serve` (SQLite) and every scenario answers without errors.

use std::process::Command;

/// The cells of the table rows of `scenario` (`| name | clients | requests | … |`).
fn rows<'a>(report: &'a str, scenario: &str) -> Vec<Vec<&'a str>> {
    report
        .lines()
        .filter(|line| line.starts_with(&format!("| {scenario} |")))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect()
}

#[test]
fn bench_serve_quick_runs_every_scenario_without_errors() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["serve", "--quick", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "bench serve failed:\n{log}\n{report}"
    );
    for scenario in ["healthz", "me", "search", "verify", "upload"] {
        let rows = rows(&report, scenario);
        assert_eq!(
            rows.len(),
            2,
            "{scenario}: one row per client count\n{report}\n{log}"
        );
        for row in rows {
            let requests: u64 = row[2].parse().unwrap();
            assert!(requests > 0, "{scenario}: no request completed\n{report}");
            assert_eq!(row[8], "0", "{scenario}: errors\n{report}");
        }
    }
    assert!(!report.contains("skipped"), "{report}");
    assert!(report.contains("documents preloaded"), "{report}");
    assert!(!report.contains("**stopped**"), "{report}");
    // The big upload streams: the server's memory stays bounded.
    let big = report
        .lines()
        .skip_while(|line| !line.starts_with("Big upload"))
        .nth(4)
        .unwrap_or_else(|| panic!("no big upload row\n{report}"));
    assert!(
        big.contains('✓'),
        "big upload grew the server's memory:\n{report}"
    );
    // The data dirs are removed after the run.
    let left: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
