//! `privicore-bench`: what the SDK costs, measured against the best hand-written equivalent
//! in the same run.
//!
//! Every figure alternates SDK rounds and baseline rounds (the order flips each round, so
//! neither side always runs on a warmer cache or a quieter machine) and compares their
//! medians. Other processes may be compiling on the same cores: absolute numbers move from run
//! to run, the ratios much less.
//!
//! ```text
//! privicore-bench [--quick] [--only NAME[,NAME...]]
//! ```
//!
//! prints one line per figure, `bench <name>: <value> <unit> (baseline <value>, ratio <r>)`,
//! where the ratio is always *SDK cost / baseline cost* (time over time, or baseline
//! throughput over SDK throughput), so that lower is better everywhere; it writes the same
//! with the machine's description to `target/bench/report.json`. After the figures it says
//! which targets were met; a `--quick` run ends each line with `(quick)` and judges no target. The figure modules are in
//! [`fig`]; `cargo xtask bench` builds the mock binary first and runs this in release mode.
//!
//! Two hidden modes serve the figures that need a separate process: `--child ...` (one side of
//! the stream figure, so that its peak memory is its own) and `--serve-mock` (a stand-in for
//! the `privicore-mock` binary when that was not built).

mod alloc;
mod fig;
mod machine;
mod measure;
mod mock;
mod openssl;
mod payload;
mod raw;
mod report;
mod sdk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use report::{Figure, Report};

/// Every error the bench reports: it is printed, never unwrapped.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// The bench's result type.
pub type Result<T> = std::result::Result<T, Error>;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const USAGE: &str = "usage: privicore-bench [--quick] [--only NAME[,NAME...]]

  --quick   smaller sizes and fewer rounds (under two minutes on 2 cores); skips the cold build
  --only    run only these figure groups: read, store, stream, cipher, list, renewal, build";

/// What the command line asked for.
struct Options {
    quick: bool,
    only: Option<Vec<String>>,
}

fn parse(args: &[String]) -> std::result::Result<Options, String> {
    let mut options = Options {
        quick: false,
        only: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--only" => {
                let list = args.next().ok_or("--only needs a list of figure groups")?;
                let names: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
                if let Some(bad) = names.iter().find(|n| !fig::GROUPS.contains(&n.as_str())) {
                    return Err(format!(
                        "unknown figure group `{bad}`; known: {}",
                        fig::GROUPS.join(", ")
                    ));
                }
                options.only = Some(names);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => return exit(fig::stream::child_main(&args[1..])),
        Some("--serve-mock") => return exit(mock::serve_forever()),
        _ => {}
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("privicore-bench: {message}\n");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("privicore-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

fn exit(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("privicore-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the figures, prints their lines, writes the report. `Ok(false)` when a figure failed
/// to run (a missed target is a result, not a failure).
fn run(options: &Options) -> Result<bool> {
    let started = Instant::now();
    let paths = Paths::discover()?;
    let ctx = fig::Ctx::new(options.quick, paths.clone())?;
    eprintln!(
        "privicore-bench: {} mode on {}",
        if options.quick { "quick" } else { "full" },
        machine::Machine::describe().summary()
    );
    let mut figures: Vec<Figure> = Vec::new();
    let mut all_ran = true;
    for group in fig::GROUPS {
        if options
            .only
            .as_ref()
            .is_some_and(|only| !only.iter().any(|n| n == group))
        {
            continue;
        }
        eprintln!("privicore-bench: measuring {group} ...");
        let group_started = Instant::now();
        let produced = fig::run(group, &ctx).unwrap_or_else(|error| {
            all_ran = false;
            vec![Figure::failed(group, &error.to_string())]
        });
        for figure in produced {
            // A quick run is a smoke test: its sizes and rounds are not the ones the targets
            // are set for, so its figures are marked and get no verdict.
            let figure = if options.quick {
                figure.quick()
            } else {
                figure
            };
            println!("{}", figure.line());
            figures.push(figure);
        }
        eprintln!(
            "privicore-bench: {group} took {:.1} s",
            group_started.elapsed().as_secs_f64()
        );
    }
    let report = Report::new(options.quick, figures, started.elapsed());
    for line in report.target_summary() {
        eprintln!("{line}");
    }
    let path = paths.report();
    report.write(&path)?;
    eprintln!(
        "privicore-bench: report written to {} ({:.0} s in all)",
        path.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(all_ran)
}

/// Where things are: the workspace, its target directory, this executable, the mock binary.
#[derive(Clone, Debug)]
pub struct Paths {
    /// The workspace root (for the cold build).
    pub workspace: PathBuf,
    /// The target directory this binary was built into (`target`).
    pub target: PathBuf,
    /// This executable, re-run for the child processes.
    pub exe: PathBuf,
}

impl Paths {
    fn discover() -> Result<Self> {
        let exe = std::env::current_exe()?;
        // The workspace this binary was built from (for the cold build); if it has moved
        // since, the directory above the target directory.
        let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // The executable sits in `<target>/<profile>/`: the report goes next to the profiles,
        // wherever CARGO_TARGET_DIR pointed the build.
        let target = exe
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| built_from.join("target"));
        let workspace = built_from
            .canonicalize()
            .ok()
            .or_else(|| target.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        Ok(Self {
            workspace,
            target,
            exe,
        })
    }

    /// `target/bench/report.json`.
    pub fn report(&self) -> PathBuf {
        self.target.join("bench").join("report.json")
    }

    /// The `privicore-mock` binary built beside this one, if it was built.
    pub fn mock_binary(&self) -> Option<PathBuf> {
        let dir = self.exe.parent()?;
        let path = dir.join(format!("privicore-mock{}", std::env::consts::EXE_SUFFIX));
        path.is_file().then_some(path)
    }
}
